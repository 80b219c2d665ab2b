"""Conflict rows as runs find them: one pending row per record (refreshed by later runs until
someone resolves it), a row per automatic decision of the `log` strategy, and pending rows
closed when the record is back in step on its own."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from eqms_integration.batching import chunked
from operations import occurrences
from sync.engine.reconcile import Item, Settlement, as_aware
from sync.engine.values import differing_fields, digest
from sync.models import SyncConfiguration, SyncConflict, SyncRun

Status = SyncConflict.Status


def pending_for(config: SyncConfiguration, external_ids: Iterable[str]) -> dict[str, SyncConflict]:
    found: dict[str, SyncConflict] = {}
    waiting = SyncConflict.objects.filter(configuration=config, status=Status.PENDING)
    if not waiting.exists():  # the usual case: one indexed probe instead of a look-up by id
        return found
    for chunk in chunked(list(external_ids)):
        rows = SyncConflict.objects.filter(
            configuration=config, status=Status.PENDING, external_id__in=chunk
        )
        found.update({conflict.external_id: conflict for conflict in rows})
    return found


def _fill(conflict: SyncConflict, run: SyncRun, item: Item, settlement: Settlement) -> None:
    source, target = item.remote_norm or {}, item.local_norm or {}
    conflict.run = run
    conflict.local_id = item.local_obj.pk if item.local_obj is not None else None
    conflict.source_values, conflict.target_values = source, target
    conflict.base_values = item.link.base_values if item.link else None
    conflict.fields = differing_fields(source, target)
    conflict.source_hash, conflict.target_hash = digest(source), digest(target)
    conflict.target_changed_at = getattr(item.local_obj, "updated_at", None)
    cursor_field = run.configuration.delta_field
    conflict.source_changed_at = as_aware((item.remote_row or {}).get(cursor_field))
    conflict.strategy = run.configuration.conflict_strategy
    conflict.notes = settlement.note


def record(
    run: SyncRun, item: Item, settlement: Settlement, pending: SyncConflict | None
) -> SyncConflict:
    """Store the conflict: refresh the record's pending row, or add a row for a decision."""
    if settlement.record == "pending":
        conflict = pending or SyncConflict(
            configuration=run.configuration, external_id=item.external_id
        )
        _fill(conflict, run, item, settlement)
        conflict.save()
        if pending is None:
            occurrences.conflict_pending(conflict)
        return conflict
    if pending is not None:
        supersede(pending, run, f"Settled by {run.configuration.conflict_strategy}.")
    conflict = SyncConflict(
        configuration=run.configuration,
        external_id=item.external_id,
        status=Status.RESOLVED,
        resolution=settlement.resolution,
        resolved_automatically=True,
        resolved_at=timezone.now(),
    )
    _fill(conflict, run, item, settlement)
    conflict.save()
    return conflict


def supersede(conflict: SyncConflict, run: SyncRun, reason: str) -> None:
    """A pending conflict whose record no longer conflicts closes itself, saying why."""
    conflict.status = Status.RESOLVED
    conflict.resolved_automatically = True
    conflict.resolved_at = timezone.now()
    conflict.run = run
    conflict.notes = (conflict.notes + "\n" if conflict.notes else "") + reason
    conflict.save(
        update_fields=[
            "status",
            "resolved_automatically",
            "resolved_at",
            "run",
            "notes",
            "updated_at",
        ]
    )
