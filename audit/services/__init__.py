"""The audit trail's API for services: record what changed, in the change's transaction.

    from audit import services as audit

    @transaction.atomic
    def supplier_update(*, supplier, data):
        before = audit.field_values(supplier, SUPPLIER_FIELDS)
        ...apply data, save...
        changes = audit.changes_between(before, audit.field_values(supplier, SUPPLIER_FIELDS))
        if changes:  # an update that changes nothing records nothing
            audit.event_record(
                action="updated", object_type="supplier", object_id=supplier.pk,
                object_repr=supplier.number, changes=changes,
            )
        return supplier

- `event_record(*, action, object_type, object_id, object_repr, changes=None, reason="",
  actor=None, channel=None) -> AuditEvent`: one INSERT. `action` and `object_type` are values
  of AuditEvent.Action / AuditEvent.ObjectType (extend them there); an unknown one, an
  `updated` event without changes, or changes not shaped `{field: [old, new]}` raise
  ValueError, so a wrong call fails in its tests, not in the trail.
- `events_record_many([EventData(action, object_type, object_id, object_repr, changes,
  reason), ...], actor=None, channel=None) -> list[AuditEvent]`: one INSERT statement for the
  batch, same checks; `returning=False`: none returned.
- `events_record_rows([(action, object_type, object_id, object_repr, changes, reason), ...],
  actor=None, channel=None) -> int`: a bulk writer's batch (sync runs) as plain tuples, the
  same checks and stored columns, no events returned (one COPY on PostgreSQL).
- `changes_between(before, after, *, secret_fields=())` and `field_values(obj, fields)`:
  see audit.changes. Values are stored JSON-safe; secret-shaped text is masked whatever the
  caller passes.
- Actor and channel come from the audit context (audit.context: request, command, task, or
  `audit_context(actor=actors.sync_run(run), channel="sync")`); pass `actor=` / `channel=`
  only to override it for one event.
- Delivery evidence: `object_type="webhook_delivery"`, `action="delivered"` or
  `"delivery_failed"`, `object_repr` the subscription and event type, and
  `changes={"status": [old, new]}` plus the attempt count and last status code, so the trail
  keeps the proof after deliveries are pruned.

Events are never changed or deleted, and nothing prunes them. `events_seal()` chains new events
(celery-beat runs it); `trail_verify()` recomputes the chain (`verify_audit_trail`).
"""

from __future__ import annotations

from audit.changes import changes_between, field_values
from audit.services.recording import (
    EventData,
    EventRow,
    event_record,
    events_record_many,
    events_record_rows,
)
from audit.services.sealing import ChainBroken, events_seal
from audit.services.verification import Verification, trail_verify

__all__ = [
    "ChainBroken",
    "EventData",
    "EventRow",
    "Verification",
    "changes_between",
    "event_record",
    "events_record_many",
    "events_record_rows",
    "events_seal",
    "field_values",
    "trail_verify",
]
