"""Periodic tasks in the admin: the internal ones (sweepers, the usage flush: the entries of
CELERY_BEAT_SCHEDULE, which beat rewrites from settings whenever it starts) are read-only and
left out of the bulk actions; the schedules of sync configurations stay visible and pausable,
and what is done to them here is in the audit trail as their configuration's changes are
(every other task's as `beat_task`, the schedules' as `beat_interval`, … : beat_admin)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask

from audit.admin_history import AuditHistoryMixin
from eqms_integration import user_admin  # noqa: F401 - registers the audited user admin
from eqms_integration.beat_admin import (  # and the audited schedule admins
    internal_task_names,
    tasks_audited,
)
from eqms_integration.beat_schedules import beat_row_save, beat_task_run
from eqms_integration.outages import BROKER, outage_report, unavailable_service
from eqms_integration.text import counted

admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class ScheduleAdmin(AuditHistoryMixin, PeriodicTaskAdmin):
    # Its History page: the task's `beat_task` events (of a configuration's entry, the edits
    # beyond its schedule: its schedule's are that configuration's `sync_schedule` events).
    audit_object_type = "beat_task"
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
    # like a change through its configuration; any other task as `beat_task`
    # (eqms_integration.beat_admin.tasks_audited).

    def save_model(self, request: HttpRequest, obj: PeriodicTask, form: Any, change: bool) -> None:
        if not change:
            beat_row_save(obj)  # a new task is nobody's schedule yet: `beat_task` `created`
            return
        with tasks_audited([obj.pk]):
            super().save_model(request, obj, form, change)

    def delete_model(self, request: HttpRequest, obj: PeriodicTask) -> None:
        with tasks_audited([obj.pk]):
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        self._audited(super().delete_queryset, request, self._editable(request, queryset))

    # Bulk actions run outside the admin's transaction: the change and its events commit
    # together here. Overriding django-celery-beat's actions drops their decorations: each is
    # decorated again, with the change permission (theirs have none: a person who may only
    # view the list could pause every schedule).
    def _audited(self, action: Any, request: HttpRequest, queryset: QuerySet) -> None:
        pks = list(queryset.values_list("pk", flat=True))
        with tasks_audited(pks):
            action(request, queryset.model.objects.filter(pk__in=pks))

    def _editable(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> QuerySet:
        internal = queryset.filter(name__in=internal_task_names())
        if internal.exists():
            names = ", ".join(internal.values_list("name", flat=True))
            self.message_user(
                request, f"Left alone (internal tasks of the service): {names}.", messages.WARNING
            )
        return queryset.exclude(name__in=internal_task_names())

    @admin.action(description="Enable selected tasks", permissions=["change"])
    def enable_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        self._audited(super().enable_tasks, request, self._editable(request, queryset))

    @admin.action(description="Disable selected tasks", permissions=["change"])
    def disable_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        self._audited(super().disable_tasks, request, self._editable(request, queryset))

    @admin.action(description="Toggle activity of selected tasks", permissions=["change"])
    def toggle_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        self._audited(super().toggle_tasks, request, self._editable(request, queryset))

    # django-celery-beat's own action sends without a trace, and to anyone who may view the
    # list: here it takes the change permission, and each task sent is a `started` event (one
    # the broker does not take is neither: it is named in an error message).
    @admin.action(description="Run selected tasks", permissions=["change"])
    def run_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        self.celery_app.loader.import_default_modules()
        chosen = [(task, self.celery_app.tasks.get(task.task)) for task in queryset]
        missing = sorted({task.task for task, found in chosen if found is None})
        if missing:
            names = ", ".join(f'"{name}"' for name in missing)
            self.message_user(request, f"Nothing run: task {names} not found.", messages.ERROR)
            return
        refused: list[str] = []
        for task, celery_task in chosen:  # each sent and recorded, or neither
            try:
                beat_task_run(task=task, celery_task=celery_task)
            except Exception as exc:
                if unavailable_service(exc) != BROKER:
                    raise
                outage_report(BROKER, exc)
                refused.append(task.name)  # the cause is logged, once an outage
        if len(refused) < len(chosen):
            sent = counted(len(chosen) - len(refused), "task")
            self.message_user(request, f"{sent} sent to the workers.")
        if refused:
            names = ", ".join(refused)
            self.message_user(
                request,
                f"Not sent, and not recorded: {names} (the broker could not be reached).",
                messages.ERROR,
            )
