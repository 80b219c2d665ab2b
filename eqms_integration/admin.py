"""Periodic tasks in the admin: the internal ones (sweepers, the usage flush: the entries of
CELERY_BEAT_SCHEDULE, which beat rewrites from settings whenever it starts) are read-only and
left out of the bulk actions; the schedules of sync configurations stay visible and pausable."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask

from eqms_integration import user_admin  # noqa: F401 - registers the audited user admin

# celery.backend_cleanup is added by beat itself when a result backend is configured.
BEAT_ADDED = ("celery.backend_cleanup",)


def internal_task_names() -> set[str]:
    return {*settings.CELERY_BEAT_SCHEDULE, *BEAT_ADDED}


admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class ScheduleAdmin(PeriodicTaskAdmin):
    list_display = ("name", "managed_by", "enabled", "scheduler", "interval", "start_time",
                    "last_run_at", "one_off")  # fmt: skip

    @admin.display(description="managed by")
    def managed_by(self, obj: PeriodicTask) -> str:
        if obj.name in internal_task_names():
            return "the service (settings; read-only)"
        if obj.task == "sync.scheduled_run":
            return "its sync configuration"
        return "-"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.name in internal_task_names():
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.name in internal_task_names():
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        super().delete_queryset(request, self._editable(request, queryset))

    def _editable(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> QuerySet:
        internal = queryset.filter(name__in=internal_task_names())
        if internal.exists():
            names = ", ".join(internal.values_list("name", flat=True))
            self.message_user(
                request, f"Left alone (internal tasks of the service): {names}.", messages.WARNING
            )
        return queryset.exclude(name__in=internal_task_names())

    def enable_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        super().enable_tasks(request, self._editable(request, queryset))

    def disable_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        super().disable_tasks(request, self._editable(request, queryset))

    def toggle_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        super().toggle_tasks(request, self._editable(request, queryset))
