"""Periodic tasks in the admin: the internal ones (sweepers, the usage flush: the entries of
CELERY_BEAT_SCHEDULE, which beat rewrites from settings whenever it starts) are read-only and
left out of the bulk actions; the schedules of sync configurations stay visible and pausable,
and what is done to them here is in the audit trail as their configuration's changes are."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask

from eqms_integration import user_admin  # noqa: F401 - registers the audited user admin
from sync.services.schedules import schedule_entry_before, schedule_entry_changed

# celery.backend_cleanup is added by beat itself when a result backend is configured.
BEAT_ADDED = ("celery.backend_cleanup",)


def internal_task_names() -> set[str]:
    return {*settings.CELERY_BEAT_SCHEDULE, *BEAT_ADDED}


admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class ScheduleAdmin(PeriodicTaskAdmin):
    list_display = (
        "name",
        "managed_by",
        "enabled",
        "scheduler",
        "interval",
        "start_time",
        "last_run_at",
        "one_off",
    )

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

    # A sync configuration's schedule changed here (paused, re-timed, deleted) is recorded
    # like a change through its configuration: schedule_entry_before / _changed.

    def save_model(self, request: HttpRequest, obj: PeriodicTask, form: Any, change: bool) -> None:
        before = schedule_entry_before(obj.pk) if change else None
        super().save_model(request, obj, form, change)
        schedule_entry_changed(obj.pk, before)

    def delete_model(self, request: HttpRequest, obj: PeriodicTask) -> None:
        before, pk = schedule_entry_before(obj.pk), obj.pk
        super().delete_model(request, obj)
        schedule_entry_changed(pk, before)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        self._audited(super().delete_queryset, request, self._editable(request, queryset))

    # Bulk actions run outside the admin's transaction: the change and its events commit
    # together here.
    @transaction.atomic
    def _audited(self, action: Any, request: HttpRequest, queryset: QuerySet) -> None:
        befores = {pk: schedule_entry_before(pk) for pk in queryset.values_list("pk", flat=True)}
        action(request, queryset.model.objects.filter(pk__in=befores))
        for pk, before in befores.items():
            schedule_entry_changed(pk, before)

    def _editable(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> QuerySet:
        internal = queryset.filter(name__in=internal_task_names())
        if internal.exists():
            names = ", ".join(internal.values_list("name", flat=True))
            self.message_user(
                request, f"Left alone (internal tasks of the service): {names}.", messages.WARNING
            )
        return queryset.exclude(name__in=internal_task_names())

    def enable_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        self._audited(super().enable_tasks, request, self._editable(request, queryset))

    def disable_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        self._audited(super().disable_tasks, request, self._editable(request, queryset))

    def toggle_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        self._audited(super().toggle_tasks, request, self._editable(request, queryset))
