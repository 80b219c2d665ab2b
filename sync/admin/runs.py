"""Admin screens of sync runs (read-only, with their row errors, the conflicts they left and
the ids gone at the source) and of the record store."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from audit.admin_history import AuditHistoryMixin
from sync.models import SyncConfiguration, SyncRecord, SyncRetry, SyncRowError, SyncRun
from sync.services.records import record_delete, retry_delete
from sync.services.runs import run_delete


class SyncRowErrorInline(admin.TabularInline):
    model = SyncRowError
    fields = ("external_id", "message", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def run_outcome(run: SyncRun) -> str:
    """The status as people read it, a dry run marked as such."""
    return run.get_status_display() + (" (dry run)" if run.dry_run else "")


@admin.register(SyncRun)
class SyncRunAdmin(AuditHistoryMixin, admin.ModelAdmin):
    audit_object_type = "sync_run"
    list_display = (
        "id",
        "configuration",
        "outcome",
        "mode",
        "trigger",
        "processed",
        "created",
        "updated",
        "skipped",
        "failed",
        "conflicted",
        "pending_conflicts",
        "duration_ms",
        "queued_at",
        "finished_at",
    )
    list_filter = ("status", "dry_run", "trigger", "configuration")
    list_select_related = ("configuration",)
    inlines = (SyncRowErrorInline,)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "configuration",
                    "outcome",
                    "mode",
                    "trigger",
                    "attempt",
                    "retry_of",
                    "error",
                )
            },
        ),
        (
            "Rows",
            {
                "fields": (
                    "processed",
                    "created",
                    "updated",
                    "skipped",
                    "failed",
                    "conflicted",
                    "conflicts_left",
                    "missing_at_source",
                    "missing_ids",
                    "retired",
                )
            },
        ),
        (
            "Times",
            {"fields": ("queued_at", "started_at", "heartbeat_at", "finished_at", "duration_ms")},
        ),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in SyncRun._meta.fields] + [
            "outcome",
            "mode",
            "conflicts_left",
            "missing_ids",
        ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: SyncRun | None = None) -> bool:
        if obj is not None and obj.status in SyncRun.ACTIVE:
            return False  # cancel it first
        return super().has_delete_permission(request, obj)

    def delete_model(self, request: HttpRequest, obj: SyncRun) -> None:
        run_delete(run=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SyncRun]) -> None:
        for run in queryset:
            try:
                run_delete(run=run)
            except ValidationError as exc:
                self.message_user(request, "; ".join(exc.messages), messages.ERROR)

    @admin.display(description="outcome", ordering="status")
    def outcome(self, obj: SyncRun) -> str:
        return run_outcome(obj)

    @admin.display(description="mode")
    def mode(self, obj: SyncRun) -> str:
        full = obj.full or obj.configuration.sync_type == SyncConfiguration.SyncType.FULL
        return ("full" if full else "delta") + (", dry run" if obj.dry_run else "")

    @admin.display(description="conflicts left waiting")
    def conflicts_left(self, obj: SyncRun) -> str:
        if not obj.pending_conflicts:
            return "none"
        if obj.dry_run:
            return f"{obj.pending_conflicts} (a dry run: none were stored)"
        url = reverse("admin:sync_syncconflict_changelist") + f"?run__id__exact={obj.pk}"
        return format_html('<a href="{}">{} waiting for a person</a>', url, obj.pending_conflicts)

    @admin.display(description="external ids gone at the source")
    def missing_ids(self, obj: SyncRun) -> str:
        ids = obj.missing_at_source_ids or []
        if not ids:
            return "-"
        listed = format_html_join(", ", "<code>{}</code>", ((i,) for i in ids))
        more = (obj.missing_at_source or 0) - len(ids)
        return format_html("{}{}", listed, f" and {more} more" if more > 0 else "")


@admin.register(SyncRecord)
class SyncRecordAdmin(AuditHistoryMixin, admin.ModelAdmin):
    audit_object_type = "record"
    list_display = ("entity_type", "external_id", "configuration", "updated_at")

    list_filter = ("entity_type", "configuration")
    search_fields = ("external_id",)
    readonly_fields = (
        "entity_type",
        "external_id",
        "data",
        "data_hash",
        "configuration",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: SyncRecord) -> None:
        record_delete(record=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SyncRecord]) -> None:
        for record in queryset:
            record_delete(record=record)


@admin.register(SyncRetry)
class SyncRetryAdmin(admin.ModelAdmin):
    """Records that failed and that every later run tries again (read-only)."""

    list_display = ("configuration", "side", "external_id", "attempts", "message", "last_failed_at")
    list_filter = ("side", "configuration")
    search_fields = ("external_id",)
    list_select_related = ("configuration",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in SyncRetry._meta.fields]

    def delete_model(self, request: HttpRequest, obj: SyncRetry) -> None:
        retry_delete(retry=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SyncRetry]) -> None:
        for retry in queryset.select_related("configuration"):
            retry_delete(retry=retry)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
