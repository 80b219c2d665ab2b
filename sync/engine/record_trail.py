"""Audit events of the record store (entity types without a QMS model), written by the sync
runs that create, change and retire its records: one per record, in the batch's transaction,
one INSERT statement per batch. `object_repr` is "<entity type> <external id>"; `changes` are
the record's data keys, [old, new]."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from audit import services as audit
from sync.models import SyncRecord


def _repr(record: SyncRecord) -> str:
    return f"{record.entity_type} {record.external_id}"


def record_many(written: list[tuple[SyncRecord, dict[str, Any] | None]]) -> None:
    """(record, its data before) per record written; None before: created."""
    if not settings.SYNC_AUDIT_RECORDS:
        return
    events = []
    for record, before in written:
        changes = audit.changes_between(before or {}, record.data)
        if before is not None and not changes:
            continue  # an update that changes nothing records nothing
        action = "created" if before is None else "updated"
        events.append((action, "record", record.pk, _repr(record), changes, ""))
    if events:
        audit.events_record_rows(events)


def record_retired(record: SyncRecord) -> None:
    """Before the record is deleted: gone at the source, retired by the run."""
    if settings.SYNC_AUDIT_RECORDS:
        changes = audit.changes_between(record.data, {})
        audit.events_record_rows([("retired", "record", record.pk, _repr(record), changes, "")])
