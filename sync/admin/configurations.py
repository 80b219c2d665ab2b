"""Admin screens of sync configurations: an overview above the form (statistics, cursors, next
run, conflicts, a chart of the recent runs), a mapping editor over the remote columns, Run now
and Dry run buttons, the preview of the next delta run; validated against the remote schema
when a save changes what depends on it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from audit.admin_history import AuditHistoryMixin
from eqms_integration.admin_actions import ObjectAction, ObjectActionsMixin
from eqms_integration.text import counted
from sync import services
from sync.admin.mappings import FieldMappingsWidget, remote_columns
from sync.admin.overview import overview
from sync.configuration_checks import configuration_warnings
from sync.models import Connection, SyncConfiguration, SyncRun
from sync.services.configurations import FIELDS, remote_changed, remote_snapshot
from sync.services.preview import delta_preview
from sync.services.runs import run_request

PREVIEW_TEMPLATE = "admin/sync/syncconfiguration/preview.html"


class SyncConfigurationForm(forms.ModelForm):
    class Meta:
        model = SyncConfiguration
        fields = FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "field_mappings" not in self.fields:  # a person who may only read the page
            return
        instance = self.instance
        stored = instance.connection if instance.pk else None
        self.fields["field_mappings"].widget = FieldMappingsWidget(
            columns=lambda: remote_columns(stored, instance.remote_object if stored else ""),
            columns_url=reverse("admin:sync_syncconfiguration_columns"),
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        candidate = SyncConfiguration(**{f: cleaned[f] for f in FIELDS if f in cleaned})
        # A rename or a new schedule is saved while the remote is down (self.instance still
        # holds the stored values here).
        before = remote_snapshot(self.instance) if self.instance.pk else None
        try:
            services.configuration_validate(
                candidate, check_remote=remote_changed(candidate, before), saving=True
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        return cleaned


class RunForm(forms.Form):
    full = forms.BooleanField(
        required=False,
        label="Full run",
        help_text="Read everything, not only what changed since the last run.",
    )


@admin.register(SyncConfiguration)
class SyncConfigurationAdmin(AuditHistoryMixin, ObjectActionsMixin, admin.ModelAdmin):
    audit_object_type = "sync_configuration"
    form = SyncConfigurationForm
    list_display = (
        "name",
        "system_type",
        "entity_type",
        "sync_direction",
        "sync_type",
        "connection",
        "schedule_type",
        "enabled",
    )
    list_filter = ("system_type", "entity_type", "sync_direction", "schedule_type", "enabled")
    search_fields = ("name", "system_name", "remote_object")
    list_select_related = ("connection",)
    actions = ("run_now", "preview_delta", "enable", "disable")
    change_form_template = "admin/sync/syncconfiguration/change_form.html"
    object_actions = (
        ObjectAction(
            "run",
            "Run now",
            "sync.execute_syncconfiguration",
            "run_one",
            form=RunForm,
            unavailable="cannot_run",
            question="Queue a run of {obj} for a worker? It reads and writes both "
            "sides as configured.",
        ),
        ObjectAction(
            "dry-run",
            "Dry run",
            "sync.execute_syncconfiguration",
            "dry_run_one",
            form=RunForm,
            unavailable="cannot_run",
            question="Queue a dry run of {obj}? It reads and compares both sides as a "
            "run would, counts what it would do, and writes nothing.",
        ),
    )
    fieldsets = (
        (None, {"fields": ("name", "description", "enabled")}),
        (
            "What moves where",
            {
                "fields": (
                    "system_type",
                    "system_name",
                    "connection",
                    "entity_type",
                    "sync_direction",
                    "sync_type",
                    "remote_object",
                    "remote_key",
                    "delta_field",
                    "field_mappings",
                    "apply_deletions",
                )
            },
        ),
        (
            "Conflicts and limits",
            {"fields": ("conflict_strategy", "batch_size", "timeout_seconds", "max_retries")},
        ),
        ("Schedule", {"fields": ("schedule_type", "interval_minutes", "cron_expression")}),
    )

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("columns/", view(self.columns_view), name="sync_syncconfiguration_columns"),
            path(
                "<int:object_id>/preview/",
                view(self.preview_view),
                name="sync_syncconfiguration_preview",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        extra = dict(extra_context or {})
        config = (
            SyncConfiguration.objects.filter(pk=object_id).select_related("connection").first()
            if object_id.isdigit()
            else None
        )
        if config is not None:
            extra["overview"] = overview(config)
            extra["may_execute"] = self.has_execute_permission(request)
        return super().change_view(request, object_id, form_url, extra)

    def columns_view(self, request: HttpRequest) -> JsonResponse:
        """The columns of a table of a connection, for the mapping editor."""
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        wanted = request.GET.get("connection", "")
        connection = Connection.objects.filter(pk=wanted).first() if wanted.isdigit() else None
        if connection is None:
            return JsonResponse({"columns": None, "note": "", "error": "No such connection."})
        columns, note, error = remote_columns(connection, request.GET.get("object", "").strip())
        return JsonResponse({"columns": columns, "note": note, "error": error})

    def preview_view(self, request: HttpRequest, object_id: int) -> TemplateResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        config = get_object_or_404(
            SyncConfiguration.objects.select_related("connection"), pk=object_id
        )
        return self._previews(request, [config])

    def _previews(self, request: HttpRequest, configs: Any) -> TemplateResponse:
        previews = []
        for config in configs:
            try:
                previews.append((config, delta_preview(config=config, limit=20), ""))
            except ValidationError as exc:
                previews.append((config, None, "; ".join(exc.messages)))
        context = {
            **self.admin_site.each_context(request),
            "title": "Next delta run",
            "opts": self.model._meta,
            "previews": previews,
            "may_execute": self.has_execute_permission(request),
        }
        return TemplateResponse(request, PREVIEW_TEMPLATE, context)

    def cannot_run(self, config: SyncConfiguration) -> str:
        if not config.enabled:
            return f"{config.name} is disabled; enable it first."
        active = config.runs.filter(status__in=SyncRun.ACTIVE).first()
        return (
            f"{config.name} is already running (run {active.pk}, {active.status})."
            if (active)
            else ""
        )

    def _queue(
        self, request: HttpRequest, config: SyncConfiguration, *, full: bool, dry_run: bool
    ) -> None:
        run = run_request(config=config, trigger="admin", full=full, dry_run=dry_run)
        url = reverse("admin:sync_syncrun_change", args=[run.pk])
        kind = "dry run" if dry_run else "run"
        self.message_user(
            request,
            format_html(
                '{}: <a href="{}">{} {}</a> queued; a worker carries it out.',
                config.name,
                url,
                kind,
                run.pk,
            ),
            messages.SUCCESS,
        )

    def run_one(self, request: HttpRequest, config: SyncConfiguration, data: dict) -> None:
        self._queue(request, config, full=data["full"], dry_run=False)

    def dry_run_one(self, request: HttpRequest, config: SyncConfiguration, data: dict) -> None:
        self._queue(request, config, full=data["full"], dry_run=True)

    @admin.action(
        description="Preview the next delta run (reads, writes nothing)", permissions=["view"]
    )
    def preview_delta(
        self, request: HttpRequest, queryset: QuerySet[SyncConfiguration]
    ) -> HttpResponse | None:
        return self._previews(request, queryset.select_related("connection")[:5])

    @admin.action(description="Run now (queued for a worker)", permissions=["execute"])
    def run_now(self, request: HttpRequest, queryset: QuerySet[SyncConfiguration]) -> None:
        for config in queryset:
            try:
                self._queue(request, config, full=False, dry_run=False)
            except ValidationError as exc:
                self.message_user(
                    request, f"{config.name}: {'; '.join(exc.messages)}", messages.WARNING
                )

    @admin.action(description="Enable selected configurations", permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet[SyncConfiguration]) -> None:
        for config in queryset:
            services.configuration_set_enabled(config=config, enabled=True)
        self.message_user(request, f"Enabled {counted(queryset.count(), 'configuration')}.")

    @admin.action(description="Disable selected configurations", permissions=["change"])
    def disable(self, request: HttpRequest, queryset: QuerySet[SyncConfiguration]) -> None:
        for config in queryset:
            services.configuration_set_enabled(config=config, enabled=False)
        self.message_user(request, f"Disabled {counted(queryset.count(), 'configuration')}.")

    def has_execute_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("sync.execute_syncconfiguration")

    def delete_model(self, request: HttpRequest, obj: SyncConfiguration) -> None:
        services.configuration_delete(config=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SyncConfiguration]) -> None:
        for config in queryset:
            services.configuration_delete(config=config)

    def save_model(
        self, request: HttpRequest, obj: SyncConfiguration, form: Any, change: bool
    ) -> None:
        data = {name: form.cleaned_data[name] for name in FIELDS}
        if change:
            saved = services.configuration_update(
                config=SyncConfiguration.objects.get(pk=obj.pk), data=data
            )
        else:
            saved = services.configuration_create(**data)
        obj.pk = saved.pk
        for warning in configuration_warnings(saved):
            self.message_user(request, warning, messages.WARNING)
