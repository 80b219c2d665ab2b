"""Resolving a conflict: the chosen values are written to both sides, and become the values
both sides agree on, so the next run sees the record in step."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import changes_between, event_record, field_values
from sync.connectors.errors import ConnectorError
from sync.engine.local import store_for
from sync.engine.mapping import local_fields, unmap
from sync.engine.remote import remote_session
from sync.engine.values import digest, normalised, typed_values
from sync.models import SyncConflict, SyncLink
from sync.transforms import TransformError

Resolution = SyncConflict.Resolution
# What a resolution changes, as the audit trail shows it.
TRAIL_FIELDS = ("status", "resolution", "resolved_value", "local_id", "resolved_by")


class RemoteWriteError(Exception):
    """The external system could not be reached or refused the values; nothing was changed."""


def conflict_fields(conflict: SyncConflict) -> list[str]:
    """The QMS fields the conflict's configuration synchronises, in mapping order."""
    return local_fields(conflict.configuration)


def conflict_local_model(conflict: SyncConflict) -> type[Model]:
    """The QMS model (or the record store) that holds the conflict's local record."""
    return store_for(conflict.configuration).model


def _resolvable(conflict: SyncConflict) -> None:
    if conflict.resolvable:
        return
    raise ValidationError(
        {"non_field_errors": f"Conflict {conflict.pk} is already {conflict.status}."}
    )


def _chosen(conflict: SyncConflict, resolution: str, custom: Any) -> dict[str, Any]:
    if resolution == Resolution.SOURCE_WINS:
        return dict(conflict.source_values)
    if resolution == Resolution.TARGET_WINS:
        return dict(conflict.target_values)
    if not isinstance(custom, dict) or not custom:
        raise ValidationError(
            {
                "resolved_value": "custom_value needs an object of field values, e.g. "
                '{"name": "Gauge 7"}.'
            }
        )
    fields = local_fields(conflict.configuration)
    unknown = sorted(set(custom) - set(fields))
    if unknown:
        raise ValidationError(
            {
                "resolved_value": f"Not a synced field: {', '.join(unknown)} "
                f"(synced: {', '.join(fields)})."
            }
        )
    return {**conflict.target_values, **custom}


def _write_remote(conflict: SyncConflict, typed: dict[str, Any]) -> None:
    config = conflict.configuration
    try:
        row = unmap(config, conflict.external_id, typed)
        with remote_session(config) as session:
            failures = session.upsert([row])
    except TransformError as exc:
        raise ValidationError({"resolved_value": str(exc)}) from None
    except ConnectorError as exc:
        raise RemoteWriteError(f"{config.connection.name}: {exc}") from None
    if failures:
        raise RemoteWriteError(
            f"{config.connection.name} refused the values: {failures[0].message}"
        )


def _write_local(conflict: SyncConflict, typed: dict[str, Any]) -> Any:
    store = store_for(conflict.configuration)
    obj = store.get_many([conflict.local_id]).get(conflict.local_id) if conflict.local_id else None
    if obj is None:
        return store.create(conflict.external_id, typed)
    return store.update(obj, typed)


@transaction.atomic
def conflict_resolve(
    *,
    conflict: SyncConflict,
    resolution: str,
    reason: str = "",
    resolved_value: Any = None,
    notes: str = "",
    user: Any = None,
) -> SyncConflict:
    """Apply the chosen values to the QMS and the external system (ignored: neither), then
    record who decided what and why (`reason`, required; `notes` of older clients count as
    the reason), in the conflict's notes and the audit trail. Raises ValidationError for a
    bad choice or no reason, and RemoteWriteError when the external side cannot take the
    values (the QMS is then left unchanged too)."""
    conflict = (
        SyncConflict.objects.select_for_update()
        .select_related("configuration__connection")
        .get(pk=conflict.pk)
    )
    _resolvable(conflict)
    if resolution not in Resolution.values:
        raise ValidationError({"resolution": f"One of {', '.join(Resolution.values)}."})
    reason = (reason or notes).strip()
    if not reason:
        raise ValidationError(
            {"reason": "Say why it is resolved this way; the audit trail keeps the reason."}
        )
    before = field_values(conflict, TRAIL_FIELDS)
    conflict.status = SyncConflict.Status.RESOLVED
    if resolution == Resolution.IGNORED:
        conflict.status = SyncConflict.Status.IGNORED
    else:
        typed = typed_values(
            conflict.configuration.entity_type, _chosen(conflict, resolution, resolved_value)
        )
        obj = _write_local(conflict, typed)
        _write_remote(conflict, typed)  # last: if it fails, the local write rolls back
        agreed = normalised(typed)
        SyncLink.objects.update_or_create(
            configuration=conflict.configuration,
            external_id=conflict.external_id,
            defaults={
                "local_id": obj.pk,
                "base_hash": digest(agreed),
                "base_values": agreed,
                "synced_at": timezone.now(),
            },
        )
        conflict.local_id = obj.pk
        conflict.resolved_value = agreed if resolution == Resolution.CUSTOM_VALUE else None
    conflict.resolution = resolution
    conflict.resolved_automatically = False
    conflict.resolved_by = user if getattr(user, "pk", None) else None
    conflict.resolved_at = timezone.now()
    conflict.notes = (conflict.notes + "\n" if conflict.notes else "") + reason
    conflict.save()
    event_record(
        action="resolved",
        object_type=AuditEvent.ObjectType.SYNC_CONFLICT,
        object_id=conflict.pk,
        object_repr=f"{conflict.configuration.name}: {conflict.external_id}",
        changes=changes_between(before, field_values(conflict, TRAIL_FIELDS)),
        reason=reason,
    )
    return conflict
