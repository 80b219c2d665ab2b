"""celery-beat's rows as people change them in the admin: its schedules (interval, crontab,
solar, clocked) and the periodic tasks that are not a sync configuration's (those are
recorded as their configuration's `sync_schedule`, sync.services.schedules). Each save or
deletion here writes its audit event in the same transaction, with the fields old → new; a
task started from the admin ("Run selected tasks", any task) is a `beat_task` `started` event
naming the Celery task id, so the events of that run (its request_id) can be found with it.

A schedule is shared: the periodic tasks that point at it run on whatever it now says, and
deleting it deletes them (CASCADE). `tasks_using` names them so the caller records what that
did to each.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Model
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from audit import services as audit
from audit.changes import SECRET_OLD

# (object type in the trail, the fields it compares) per beat model.
TRAIL: dict[type[Model], tuple[str, tuple[str, ...]]] = {
    IntervalSchedule: ("beat_interval", ("every", "period")),
    CrontabSchedule: (
        "beat_crontab",
        ("minute", "hour", "day_of_month", "month_of_year", "day_of_week", "timezone"),
    ),
    SolarSchedule: ("beat_solar", ("event", "latitude", "longitude")),
    ClockedSchedule: ("beat_clocked", ("clocked_time",)),
    # What a person sets; not what beat keeps while running (last_run_at, total_run_count).
    PeriodicTask: (
        "beat_task",
        (
            "name",
            "task",
            "interval",
            "crontab",
            "solar",
            "clocked",
            "args",
            "kwargs",
            "queue",
            "exchange",
            "routing_key",
            "headers",
            "priority",
            "expires",
            "expire_seconds",
            "one_off",
            "start_time",
            "enabled",
            "description",
        ),
    ),
}
# A periodic task's keyword arguments and headers are JSON anyone may type: the value under a
# name like these is recorded as "[secret]" (the trail keeps what it is given for ever;
# key-shaped text anywhere, positional arguments included, is masked by the trail itself).
JSON_FIELDS = ("kwargs", "headers")
SECRET_NAME = re.compile(
    r"(?i)password|passwd|passphrase|secret|token|api[_-]?key|authori[sz]ation|credential"
    r"|cookie|private[_-]?key"
)
SCHEDULE_FIELDS = {"interval": IntervalSchedule, "crontab": CrontabSchedule}
SCHEDULE_FIELDS |= {"solar": SolarSchedule, "clocked": ClockedSchedule}


def _kind(model: type[Model]) -> tuple[str, tuple[str, ...]]:
    try:
        return TRAIL[model]
    except KeyError:
        raise ValueError(f"{model.__name__} is not a celery-beat row the trail knows.") from None


def beat_values(obj: Model | None) -> dict[str, Any]:
    """What the trail compares of a saved beat row (empty for none, or one not saved yet)."""
    if obj is None or obj.pk is None:
        return {}
    return audit.field_values(obj, _kind(type(obj))[1])


def beat_values_of(model: type[Model], pk: Any) -> dict[str, Any]:
    """The row `pk` as the database has it now (empty when there is none)."""
    return beat_values(model.objects.filter(pk=pk).first()) if pk is not None else {}


def _label(obj: Model) -> str:
    return obj.name if isinstance(obj, PeriodicTask) else str(obj)


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: SECRET_OLD if SECRET_NAME.search(str(k)) else _masked(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def _without_secrets(text: Any) -> Any:
    """A task's kwargs or headers (JSON text) with the values of secret-named keys masked."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return text
    masked = _masked(value)
    return text if masked == value else json.dumps(masked)


def _record(model: type[Model], pk: Any, label: str, before: dict, after: dict) -> bool:
    # Compared as they are: a change of a secret alone is an update (both sides then read
    # the same, masked).
    changes = audit.changes_between(before, after)
    if not changes:
        return False
    if model is PeriodicTask:
        for name in set(JSON_FIELDS) & set(changes):
            changes[name] = [_without_secrets(value) for value in changes[name]]
    action = "created" if not before else "deleted" if not after else "updated"
    audit.event_record(
        action=action,
        object_type=_kind(model)[0],
        object_id=pk,
        object_repr=label,
        changes=changes,
    )
    return True


@transaction.atomic
def beat_row_save(obj: Model) -> bool:
    """Save a schedule or periodic task as a form filled it in (created when it has no pk);
    True (and one event) when that changed anything."""
    model = type(obj)
    before = beat_values_of(model, obj.pk)
    obj.save()
    return _record(model, obj.pk, _label(obj), before, beat_values(obj))


@transaction.atomic
def beat_row_delete(obj: Model) -> None:
    """Delete a schedule (the periodic tasks on it go with it: record theirs first, see
    tasks_using) or a periodic task, with its `deleted` event."""
    model, pk, label = type(obj), obj.pk, _label(obj)
    before = beat_values_of(model, pk)
    obj.delete()
    _record(model, pk, label, before, {})


@transaction.atomic
def beat_rows_changed(
    model: type[Model], befores: dict[Any, dict[str, Any]], *, fields: Iterable[str] = ()
) -> int:
    """After a change made to many rows at once (the admin's bulk actions, or a schedule's
    deletion taking its tasks with it): one event for each row `befores` (its beat_values
    then, by pk) that it changed; `fields`: compare only those. Returns how many."""
    rows = {obj.pk: obj for obj in model.objects.filter(pk__in=list(befores))}
    only = set(fields)
    recorded = 0
    for pk, before in befores.items():
        obj = rows.get(pk)
        label = _label(obj) if obj is not None else str(before.get("name") or pk)
        after = beat_values(obj)
        if only:
            before = {k: v for k, v in before.items() if k in only}
            after = {k: v for k, v in after.items() if k in only}
        recorded += _record(model, pk, label, before, after)
    return recorded


def tasks_using(schedule: Model) -> list[int]:
    """The periodic tasks that run on `schedule` (a change of it changes when they run)."""
    field = next(name for name, model in SCHEDULE_FIELDS.items() if isinstance(schedule, model))
    return list(PeriodicTask.objects.filter(**{field: schedule}).values_list("pk", flat=True))


@transaction.atomic
def beat_task_run(*, task: PeriodicTask, celery_task: Any) -> str:
    """Send `task` to the workers now, out of its schedule, as django-celery-beat's "Run
    selected tasks" does (its arguments, queue and `periodic_task_name` header), with its
    `started` event naming the Celery task id it is sent with (the request_id of the events
    the task records). Returns that id.

    It is sent before the transaction commits, so that a broker which does not take it (the
    error is raised) rolls its event back: an event that says a task started when it never
    left is worse than the remaining case, a commit failing after the send. (A task run
    eagerly, CELERY_TASK_ALWAYS_EAGER, runs once the transaction commits, as on a worker.)"""
    args, kwargs = json.loads(task.args or "[]"), json.loads(task.kwargs or "{}")
    task_id = str(uuid.uuid4())
    audit.event_record(
        action="started",
        object_type="beat_task",
        object_id=task.pk,
        object_repr=task.name,
        changes={"task": [None, task.task], "task_id": [None, task_id]},
    )
    options = {"queue": task.queue} if task.queue else {}
    headers = {"periodic_task_name": task.name}

    def send() -> None:
        celery_task.apply_async(
            args=args, kwargs=kwargs, task_id=task_id, headers=headers, **options
        )

    if celery_task.app.conf.task_always_eager:
        transaction.on_commit(send)  # it runs in this process: after the commit, as a worker
    else:
        send()
    return task_id
