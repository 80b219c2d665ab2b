"""Admin screens of sync runs (read-only, with their row errors) and of the record store."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from sync.models import SyncRecord, SyncRetry, SyncRowError, SyncRun


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
                    "skipped", "failed", "conflicted", "duration_ms", "queued_at")  # fmt: skip
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


@admin.register(SyncRetry)
class SyncRetryAdmin(admin.ModelAdmin):
    """Records that failed and that every later run tries again (read-only)."""

    list_display = ("configuration", "side", "external_id", "attempts", "message",
                    "last_failed_at")  # fmt: skip
    list_filter = ("side", "configuration")
    search_fields = ("external_id",)
    list_select_related = ("configuration",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in SyncRetry._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
