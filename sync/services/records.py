"""The generic record store's rows, as people change them outside runs (runs write them
through the engine's record store)."""

from __future__ import annotations

from django.db import transaction

from audit.models import AuditEvent
from audit.services import changes_between, event_record
from sync.models import SyncRecord


@transaction.atomic
def record_delete(*, record: SyncRecord) -> None:
    """Delete a record of the record store; its last values stay in the audit trail."""
    before = {
        "entity_type": record.entity_type,
        "external_id": record.external_id,
        "data": record.data,
    }
    pk = record.pk
    record.delete()
    event_record(
        action="deleted",
        object_type=AuditEvent.ObjectType.RECORD,
        object_id=pk,
        object_repr=f"{before['entity_type']} {before['external_id']}",
        changes=changes_between(before, {}),
    )
