"""Read-only admin lists: the alerts sent (and whether their e-mail went out), and the
heartbeats of workers and beat."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from operations.models import Alert, Heartbeat


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "subject", "emailed_at", "email_error")
    list_filter = ("kind", "created_at")
    search_fields = ("subject", "reason", "target")
    readonly_fields = (
        "kind",
        "target",
        "occurrence",
        "subject",
        "reason",
        "link",
        "created_at",
        "emailed_at",
        "email_attempts",
        "email_error",
    )
    exclude = ("email_claimed_at", "email_claim")


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdmin):
    list_display = ("kind", "name", "pid", "started_at", "seen_at", "stopped_at")
    list_filter = ("kind",)
    readonly_fields = ("kind", "name", "pid", "started_at", "seen_at", "stopped_at")
