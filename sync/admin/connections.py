"""Admin screens of sync connections: secrets write-only, a test action."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from sync import services
from sync.models import Connection
from sync.services.connections import FIELDS, credentials_of, validate_connection


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
