"""Admin screens for sync connections (configurations and runs arrive with the engine)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from sync import services
from sync.models import Connection, SyncConfiguration, SyncRecord, SyncRowError, SyncRun
from sync.services.configurations import FIELDS as CONFIGURATION_FIELDS
from sync.services.connections import FIELDS, credentials_of, validate_connection
from sync.services.runs import run_request


class ConnectionForm(forms.ModelForm):
    password = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the stored password.",
    )  # fmt: skip
    base_url = forms.URLField(required=False, assume_scheme="https", max_length=500)
    credentials = forms.JSONField(
        required=False, help_text="REST only; leave empty to keep the stored credentials."
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        candidate = Connection(**{f: cleaned.get(f) for f in FIELDS if f in cleaned})
        credentials = cleaned.get("credentials") or (
            credentials_of(self.instance) if self.instance.pk else {}
        )
        try:
            validate_connection(candidate, credentials)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        return cleaned

    class Meta:
        model = Connection
        fields = FIELDS


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    form = ConnectionForm
    list_display = (
        "name",
        "kind",
        "host",
        "database",
        "base_url",
        "last_test_ok",
        "last_tested_at",
    )
    list_filter = ("kind", "last_test_ok")
    search_fields = ("name", "host", "database", "base_url")
    readonly_fields = (
        "last_tested_at",
        "last_test_ok",
        "last_test_message",
        "created_at",
        "updated_at",
    )
    actions = ("test_selected",)

    def save_model(self, request: HttpRequest, obj: Connection, form: Any, change: bool) -> None:
        data = {name: form.cleaned_data[name] for name in FIELDS}
        secrets = {}
        if form.cleaned_data.get("password"):
            secrets["password"] = form.cleaned_data["password"]
        if form.cleaned_data.get("credentials"):
            secrets["credentials"] = form.cleaned_data["credentials"]
        if change:
            saved = services.connection_update(
                connection=Connection.objects.get(pk=obj.pk), data=data, **secrets
            )
        else:
            saved = services.connection_create(**data, **secrets)
        obj.pk = saved.pk

    @admin.action(description="Test selected connections", permissions=["test"])
    def test_selected(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        for connection in queryset:
            result = services.connection_test(connection=connection)
            level = messages.SUCCESS if result.ok else messages.ERROR
            outcome = "OK" if result.ok else "FAILED"
            self.message_user(request, f"{connection.name}: {outcome} — {result.message}", level)

    def has_test_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("sync.test_connection")


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
    actions = ("run_now", "enable", "disable")

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
        self.message_user(request, f"Enabled {queryset.count()} configuration(s).")

    @admin.action(description="Disable selected configurations", permissions=["change"])
    def disable(self, request: HttpRequest, queryset: QuerySet[SyncConfiguration]) -> None:
        for config in queryset:
            services.configuration_set_enabled(config=config, enabled=False)
        self.message_user(request, f"Disabled {queryset.count()} configuration(s).")

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


class SyncRowErrorInline(admin.TabularInline):
    model = SyncRowError
    fields = ("external_id", "message", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ("id", "configuration", "status", "trigger", "processed", "created", "updated",
                    "skipped", "failed", "duration_ms", "queued_at")  # fmt: skip
    list_filter = ("status", "trigger", "configuration")
    list_select_related = ("configuration",)
    inlines = (SyncRowErrorInline,)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in SyncRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(SyncRecord)
class SyncRecordAdmin(admin.ModelAdmin):
    list_display = ("entity_type", "external_id", "configuration", "updated_at")
    list_filter = ("entity_type", "configuration")
    search_fields = ("external_id",)
    readonly_fields = ("entity_type", "external_id", "data", "data_hash", "configuration",
                       "created_at", "updated_at")  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
