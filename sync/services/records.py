"""The generic record store's rows and the retries of failed records, as people change them
outside runs (runs write them through the engine)."""

from __future__ import annotations

from django.db import transaction

from audit.models import AuditEvent
from audit.services import changes_between, event_record
from sync.models import SyncRecord, SyncRetry


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


@transaction.atomic
def retry_delete(*, retry: SyncRetry) -> None:
    """Give up retrying a record that failed (later runs no longer try it again on their own);
    the trail keeps what was given up and why it had failed."""
    before = {
        "configuration": retry.configuration.name,
        "side": retry.side,
        "external_id": retry.external_id,
        "attempts": retry.attempts,
        "message": retry.message,
    }
    pk = retry.pk
    retry.delete()
    event_record(
        action="deleted",
        object_type=AuditEvent.ObjectType.SYNC_RETRY,
        object_id=pk,
        object_repr=f"{before['configuration']}: {before['side']} {before['external_id']}",
        changes=changes_between(before, {}),
    )
