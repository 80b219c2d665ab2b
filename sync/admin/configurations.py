"""Admin screens of sync configurations: validated against the remote schema on save; run
now, preview the next delta, enable and disable; a chart of the recent runs."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from eqms_integration.text import counted
from sync import services
from sync.models import SyncConfiguration
from sync.selectors import run_history
from sync.services.configurations import FIELDS as CONFIGURATION_FIELDS
from sync.services.preview import delta_preview
from sync.services.runs import run_request

BAR_HEIGHT = 100
STATUS_COLOURS = {"success": "#417690", "partial": "#c9a400", "failed": "#ba2121",
                  "timeout": "#ba2121", "cancelled": "#888888"}  # fmt: skip


def run_chart(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Bars for the last runs: duration and rows read, scaled to the largest of each."""
    if not runs:
        return None
    longest = max([run["duration_ms"] or 0 for run in runs] + [1])
    busiest = max([run["processed"] for run in runs] + [1])
    bars = [
        {**run, "colour": STATUS_COLOURS.get(run["status"], "#888888"),
         "duration_px": max(1, round((run["duration_ms"] or 0) * BAR_HEIGHT / longest)),
         "rows_px": max(1, round(run["processed"] * BAR_HEIGHT / busiest))}
        for run in runs
    ]  # fmt: skip
    return {"runs": bars, "longest_ms": longest, "most_rows": busiest}


class SyncConfigurationForm(forms.ModelForm):
    class Meta:
        model = SyncConfiguration
        fields = CONFIGURATION_FIELDS

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        candidate = SyncConfiguration(
            **{f: cleaned[f] for f in CONFIGURATION_FIELDS if f in cleaned}
        )
        try:
            services.configuration_validate(candidate)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        return cleaned


@admin.register(SyncConfiguration)
class SyncConfigurationAdmin(admin.ModelAdmin):
    form = SyncConfigurationForm
    list_display = ("name", "system_type", "entity_type", "sync_direction", "sync_type",
                    "connection", "schedule_type", "enabled")  # fmt: skip
    list_filter = ("system_type", "entity_type", "sync_direction", "schedule_type", "enabled")
    search_fields = ("name", "system_name", "remote_object")
    list_select_related = ("connection",)
    actions = ("run_now", "preview_delta", "enable", "disable")
    change_form_template = "admin/sync/syncconfiguration/change_form.html"

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        extra = dict(extra_context or {})
        if object_id.isdigit():
            extra["run_chart"] = run_chart(run_history(int(object_id)))
        return super().change_view(request, object_id, form_url, extra)

    @admin.action(description="Preview the next delta run (reads, writes nothing)",
                  permissions=["view"])  # fmt: skip
    def preview_delta(
        self, request: HttpRequest, queryset: QuerySet[SyncConfiguration]
    ) -> HttpResponse | None:
        previews = []
        for config in queryset[:5]:
            try:
                previews.append((config, delta_preview(config=config, limit=20), ""))
            except ValidationError as exc:
                previews.append((config, None, "; ".join(exc.messages)))
        context = {**self.admin_site.each_context(request), "title": "Next delta run",
                   "opts": self.model._meta, "previews": previews}  # fmt: skip
        return TemplateResponse(request, "admin/sync/syncconfiguration/preview.html", context)

    @admin.action(description="Run now (queued for a worker)", permissions=["execute"])
    def run_now(self, request: HttpRequest, queryset: QuerySet[SyncConfiguration]) -> None:
        for config in queryset:
            try:
                run = run_request(config=config, trigger="admin")
                self.message_user(request, f"{config.name}: run {run.pk} queued.", messages.SUCCESS)
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
        data = {name: form.cleaned_data[name] for name in CONFIGURATION_FIELDS}
        if change:
            saved = services.configuration_update(
                config=SyncConfiguration.objects.get(pk=obj.pk), data=data
            )
        else:
            saved = services.configuration_create(**data)
        obj.pk = saved.pk
