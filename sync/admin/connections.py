"""Admin screens of sync connections: secrets write-only, the fields of the chosen kind only,
a test button and action."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.admin_history import AuditHistoryMixin
from eqms_integration.admin_actions import ObjectAction, ObjectActionsMixin
from sync import services
from sync.models import Connection
from sync.services.connections import FIELDS, connection_validate, credentials_of


class OptionalJSONField(forms.JSONField):
    """Empty when there is no value, never the text `null`."""

    def prepare_value(self, value: Any) -> Any:
        return "" if value is None else super().prepare_value(value)


class ConnectionForm(forms.ModelForm):
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the stored password.",
    )
    base_url = forms.URLField(
        required=False, assume_scheme="https", max_length=500, label="Base URL"
    )
    credentials = OptionalJSONField(
        required=False,
        help_text='A JSON object, e.g. {"token": "…"} for bearer; leave empty to keep the stored '
        "credentials.",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        candidate = Connection(**{f: cleaned.get(f) for f in FIELDS if f in cleaned})
        credentials = cleaned.get("credentials") or (
            credentials_of(self.instance) if self.instance.pk else {}
        )
        try:
            connection_validate(candidate, credentials)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        return cleaned

    class Meta:
        model = Connection
        fields = FIELDS
        help_texts = {
            "options": "A JSON object. Databases: driver, encrypt, trust_server_certificate, "
            "schema, …; REST APIs: items_path, pagination, page_size, write_method, … (see the "
            "README).",
        }


SQL_FIELDS = ("host", "port", "database", "username", "password")
REST_FIELDS = ("base_url", "auth_type", "credentials")


@admin.register(Connection)
class ConnectionAdmin(AuditHistoryMixin, ObjectActionsMixin, admin.ModelAdmin):
    audit_object_type = "sync_connection"
    form = ConnectionForm
    object_actions = (
        ObjectAction(
            "test",
            "Test the connection",
            "sync.test_connection",
            "test_one",
            question="Connect to {obj} now and record the outcome?",
        ),
    )
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

    class Media:
        js = ("sync/connection_form.js",)

    def get_fieldsets(self, request: HttpRequest, obj: Connection | None = None) -> Any:
        # The script shows the fieldset of the chosen kind only; without it both show.
        fieldsets = [
            (None, {"fields": ("name", "kind", "timeout_seconds")}),
            ("Database", {"fields": SQL_FIELDS, "classes": ("connection-kind", "kind-sql")}),
            ("REST API", {"fields": REST_FIELDS, "classes": ("connection-kind", "kind-rest")}),
            ("Options", {"fields": ("options",)}),
        ]
        if obj is not None:
            fieldsets.append(("Last test", {"fields": self.readonly_fields}))
        return fieldsets

    def _report(self, request: HttpRequest, connection: Connection) -> None:
        result = services.connection_test(connection=connection)
        level = messages.SUCCESS if result.ok else messages.ERROR
        outcome = "OK" if result.ok else "FAILED"
        self.message_user(request, f"{connection.name}: {outcome} — {result.message}", level)

    def test_one(self, request: HttpRequest, connection: Connection, data: dict) -> None:
        self._report(request, connection)

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

    def delete_model(self, request: HttpRequest, obj: Connection) -> None:
        services.connection_delete(connection=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        for connection in queryset:
            try:
                services.connection_delete(connection=connection)
            except ValidationError as exc:
                self.message_user(request, "; ".join(exc.messages), messages.ERROR)

    @admin.action(description="Test selected connections", permissions=["test"])
    def test_selected(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        for connection in queryset:
            self._report(request, connection)

    def has_test_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("sync.test_connection")
