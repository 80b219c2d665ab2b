"""After a complete full read: the linked rows the source no longer has."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from eqms_integration.batching import chunked
from sync.engine.counts import RunCounts
from sync.engine.local import LocalStore
from sync.engine.settle import error_text
from sync.models import SyncLink, SyncRowError, SyncRun


def deletions(run: SyncRun, store: LocalStore) -> None:
    """After a complete full read: count linked rows the source no longer has, and retire
    them when the configuration says so (inbound configurations only)."""
    config = run.configuration
    missing = SyncLink.objects.filter(configuration=config).exclude(last_seen_run=run.pk)
    ids = missing.order_by("external_id").values_list("external_id", flat=True)
    counts = RunCounts(run)
    counts.missing(missing.count(), list(ids[: SyncRun.MISSING_IDS_KEPT]))
    counts.retiring()
    if not config.apply_deletions or run.dry_run:
        return
    for chunk in chunked(list(missing.values_list("pk", "local_id", "external_id"))):
        objs = store.get_many(local_id for _, local_id, _ in chunk)
        for link_pk, local_id, external_id in chunk:
            obj = objs.get(local_id)
            try:
                with transaction.atomic():
                    if obj is not None and store.retire(obj):
                        counts.retired()
                    if obj is None or store.retire_deletes:
                        SyncLink.objects.filter(pk=link_pk).delete()
            except ValidationError as exc:
                counts.failed()
                SyncRowError.objects.create(
                    run=run,
                    external_id=external_id,
                    message=f"Gone at the source, but could not be retired: {error_text(exc)}",
                )
