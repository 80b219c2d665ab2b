"""Interval and cron schedules of configurations, kept as django-celery-beat entries (visible
and pausable in the admin under Periodic tasks)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from celery.schedules import crontab
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from audit.models import AuditEvent
from audit.services import changes_between, event_record
from sync.models import SyncConfiguration

TASK = "sync.scheduled_run"
SCHEDULES = ("interval", "crontab", "solar", "clocked")


def task_name(config_pk: int) -> str:
    return f"sync configuration {config_pk}"


def _shape(task: PeriodicTask | None) -> dict[str, Any]:
    """A beat entry as the audit trail shows it: when it runs, and whether it is on."""
    if task is None:
        return {}
    if task.interval_id:
        when = f"every {task.interval.every} {task.interval.period}"
    elif task.crontab_id:
        c = task.crontab
        when = (
            f"{c.minute} {c.hour} {c.day_of_month} {c.month_of_year} {c.day_of_week} ({c.timezone})"
        )
    else:  # put on a solar or clocked schedule in the beat admin
        when = str(task.solar or task.clocked or "no schedule")
    return {"schedule": when, "enabled": task.enabled}


def _record(config: SyncConfiguration, before: dict[str, Any], after: dict[str, Any]) -> None:
    changes = changes_between(before, after)
    if not changes:
        return
    action = "created" if not before else "deleted" if not after else "updated"
    event_record(
        action=action,
        object_type=AuditEvent.ObjectType.SYNC_SCHEDULE,
        object_id=config.pk,
        object_repr=config.name,
        changes=changes,
    )


def _entry(name: str) -> PeriodicTask | None:
    return PeriodicTask.objects.select_related(*SCHEDULES).filter(name=name).first()


def schedule_save(config: SyncConfiguration) -> PeriodicTask | None:
    """Create, update or remove the beat entry so that it matches the configuration."""
    name = task_name(config.pk)
    before = _shape(_entry(name))
    kind = config.schedule_type
    if kind == SyncConfiguration.ScheduleType.MANUAL:
        PeriodicTask.objects.filter(name=name).delete()
        _record(config, before, {})
        return None
    fields: dict = {"interval": None, "crontab": None}
    if kind == SyncConfiguration.ScheduleType.INTERVAL:
        fields["interval"], _ = IntervalSchedule.objects.get_or_create(
            every=config.interval_minutes, period=IntervalSchedule.MINUTES
        )
    else:
        minute, hour, day_of_month, month_of_year, day_of_week = config.cron_expression.split()
        fields["crontab"], _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
            timezone=timezone.get_current_timezone_name(),
        )
    task, _ = PeriodicTask.objects.update_or_create(
        name=name,
        defaults={
            **fields,
            "task": TASK,
            "args": json.dumps([config.pk]),
            "enabled": config.enabled,
            "description": f"Runs {config.name}",
        },
    )
    _record(config, before, _shape(task))
    return task


def schedule_delete(config: SyncConfiguration) -> None:
    name = task_name(config.pk)
    before = _shape(_entry(name))
    PeriodicTask.objects.filter(name=name).delete()
    _record(config, before, {})


def _configuration_of(task: PeriodicTask) -> SyncConfiguration | None:
    """The configuration a beat entry runs (its one argument), if it is a sync schedule."""
    if task.task != TASK:
        return None
    try:
        (pk,) = json.loads(task.args or "[]")
        return SyncConfiguration.objects.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        return None


def schedule_entry_before(pk: int) -> tuple[SyncConfiguration, dict[str, Any]] | None:
    """Before the admin's periodic-task page changes or deletes the beat entry `pk`: the
    configuration it schedules and its shape in the trail (None: not a sync schedule)."""
    task = PeriodicTask.objects.select_related(*SCHEDULES).filter(pk=pk).first()
    config = _configuration_of(task) if task is not None else None
    return (config, _shape(task)) if config is not None else None


def schedule_entry_changed(pk: int, before: tuple[SyncConfiguration, dict[str, Any]] | None):
    """After that change: its audit event (created/updated/deleted, as schedule_save's)."""
    if before is not None:
        config, shape = before
        task = PeriodicTask.objects.select_related(*SCHEDULES).filter(pk=pk).first()
        _record(config, shape, _shape(task))


def next_run_at(
    config: SyncConfiguration, *, tasks: dict[str, PeriodicTask] | None = None
) -> datetime | None:
    """When beat will next start this configuration (None: manual or disabled). `tasks`: beat
    entries already loaded by name, for many configurations at once."""
    if not config.enabled or config.schedule_type == SyncConfiguration.ScheduleType.MANUAL:
        return None
    name = task_name(config.pk)
    task = tasks.get(name) if tasks is not None else PeriodicTask.objects.filter(name=name).first()
    if task is None or not task.enabled:
        return None
    now = timezone.now()
    if config.schedule_type == SyncConfiguration.ScheduleType.INTERVAL:
        last = task.last_run_at or task.date_changed or now
        return max(last + timedelta(minutes=config.interval_minutes), now)
    minute, hour, day_of_month, month_of_year, day_of_week = config.cron_expression.split()
    schedule = crontab(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
    )
    return now + schedule.remaining_estimate(task.last_run_at or now)
