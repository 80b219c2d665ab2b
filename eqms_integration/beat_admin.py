"""celery-beat's schedule pages (interval, crontab, solar, clocked) in the admin: django-celery-
beat's, with every save and deletion made through eqms_integration.beat_schedules (so it is in
the audit trail), and what it did to the periodic tasks on the schedule recorded too."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django_celery_beat import admin as beat
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from audit.admin_history import AuditHistoryMixin
from eqms_integration.beat_schedules import (
    TRAIL,
    beat_row_delete,
    beat_row_save,
    beat_rows_changed,
    beat_values_of,
    tasks_using,
)
from sync.services.schedules import schedule_entry_before, schedule_entry_changed

# celery.backend_cleanup is added by beat itself when a result backend is configured.
BEAT_ADDED = ("celery.backend_cleanup",)


def internal_task_names() -> set[str]:
    """The service's own periodic tasks (CELERY_BEAT_SCHEDULE, which beat writes back from
    settings whenever it starts): read-only in the admin, and so are their schedules."""
    return {*settings.CELERY_BEAT_SCHEDULE, *BEAT_ADDED}


# What a configuration's `sync_schedule` event shows of its beat entry (sync.services.
# schedules); an edit of the rest of it here (its name, task, arguments, options) is a
# `beat_task` event of its own.
SHOWN_AS_SYNC_SCHEDULE = ("interval", "crontab", "solar", "clocked", "enabled")
NOT_SHOWN = tuple(f for f in TRAIL[PeriodicTask][1] if f not in SHOWN_AS_SYNC_SCHEDULE)


@contextmanager
def tasks_audited(pks: Iterable[int]) -> Iterator[None]:
    """Records what the block does to these periodic tasks, in one transaction with it: a
    sync configuration's as its `sync_schedule` (as a change through the configuration is,
    and the rest of its entry as `beat_task`), any other as `beat_task`."""
    with transaction.atomic():
        synced = {pk: schedule_entry_before(pk) for pk in pks}
        befores = {pk: beat_values_of(PeriodicTask, pk) for pk in synced}
        yield
        for pk, before in synced.items():
            schedule_entry_changed(pk, before)
        beat_rows_changed(PeriodicTask, {pk: befores[pk] for pk, was in synced.items() if not was})
        kept = PeriodicTask.objects.filter(pk__in=[pk for pk, was in synced.items() if was])
        entries = {pk: befores[pk] for pk in kept.values_list("pk", flat=True)}
        beat_rows_changed(PeriodicTask, entries, fields=NOT_SHOWN)


class AuditedScheduleAdmin(AuditHistoryMixin, admin.ModelAdmin):
    """A change of a schedule changes when every task on it runs; deleting it deletes them."""

    @property
    def audit_object_type(self) -> str:  # type: ignore[override]
        return TRAIL[self.model][0]

    def _runs_internal_tasks(self, obj: Model | None) -> bool:
        # Retiming or deleting (CASCADE) a sweeper's schedule would change or stop it until
        # beat restarts: like the sweeper itself, its schedule is left to settings.
        if obj is None:
            return False
        names = PeriodicTask.objects.filter(pk__in=tasks_using(obj)).values_list("name", flat=True)
        return bool(internal_task_names() & set(names))

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if self._runs_internal_tasks(obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if self._runs_internal_tasks(obj):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        with tasks_audited(tasks_using(obj) if change else ()):
            beat_row_save(obj)

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        with tasks_audited(tasks_using(obj)):
            beat_row_delete(obj)

    @transaction.atomic
    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for schedule in queryset:
            self.delete_model(request, schedule)


def _registered(model: type[Model]) -> Any:
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    return admin.register(model)


@_registered(IntervalSchedule)
class IntervalScheduleAdmin(AuditedScheduleAdmin, beat.IntervalScheduleAdmin):
    pass


@_registered(CrontabSchedule)
class CrontabScheduleAdmin(AuditedScheduleAdmin, beat.CrontabScheduleAdmin):
    pass


@_registered(SolarSchedule)
class SolarScheduleAdmin(AuditedScheduleAdmin, beat.SolarScheduleAdmin):
    pass


@_registered(ClockedSchedule)
class ClockedScheduleAdmin(AuditedScheduleAdmin, beat.ClockedScheduleAdmin):
    pass
