"""The audit events of QMS records, written by the quality services inside the change's
transaction (so the admin, the REST API, commands, tasks and sync are all covered).

An entity's `object_type` in the trail is its model name (ncr, capa, equipment, supplier);
`object_repr` is its number; `changes` are `{field: [old, new]}` of the audited fields."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from audit import services as audit


def object_type(obj: models.Model | type[models.Model]) -> str:
    return obj._meta.model_name


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    return audit.field_values(obj, fields)


def _data(
    obj: models.Model, action: str, changes: dict[str, Any], reason: str = ""
) -> audit.EventData:
    return audit.EventData(action, object_type(obj), obj.pk, obj.number, changes, reason)


def created_event(obj: models.Model, fields: Sequence[str]) -> audit.EventData:
    return _data(obj, "created", audit.changes_between({}, snapshot(obj, fields)))


def updated_event(
    obj: models.Model, before: dict[str, Any], fields: Sequence[str]
) -> audit.EventData | None:
    """The `updated` event of a change, or None when no audited field changed."""
    changes = audit.changes_between(before, snapshot(obj, fields))
    return _data(obj, "updated", changes) if changes else None


def record(event: audit.EventData | None) -> None:
    if event is not None:
        audit.event_record(
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            object_repr=event.object_repr,
            changes=event.changes,
            reason=event.reason,
        )


def record_created(obj: models.Model, fields: Sequence[str]) -> None:
    record(created_event(obj, fields))


def record_updated(obj: models.Model, before: dict[str, Any], fields: Sequence[str]) -> None:
    record(updated_event(obj, before, fields))


def record_closed(
    obj: models.Model, before: dict[str, Any], fields: Sequence[str], reason: str
) -> None:
    changes = audit.changes_between(before, snapshot(obj, fields))
    record(_data(obj, "closed", changes, reason))


def record_many(events: Iterable[audit.EventData | None]) -> None:
    """One INSERT statement for a batch's events (the bulk paths)."""
    batch = [event for event in events if event is not None]
    if batch:
        audit.events_record_many(batch)


def status_locked(obj: models.Model) -> str | None:
    """The record's status as committed, its row locked until the caller's transaction ends:
    `obj` may have been read before another request closed it, and no close can commit
    between this check and the caller's change."""
    return (
        type(obj)
        .objects.select_for_update()
        .filter(pk=obj.pk)
        .values_list("status", flat=True)
        .first()
    )


def refuse_closed(obj: models.Model, closed: str, label: str) -> None:
    """Closed NCRs and CAPAs are read-only: a change names the record it was refused for."""
    if obj.status == closed or status_locked(obj) == closed:
        raise ValidationError(f"{obj.number} is closed: a closed {label} cannot be changed.")
