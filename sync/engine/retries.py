"""Records that failed are tried again by every later run until they go through."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import F

from eqms_integration.batching import chunked
from sync.engine.settle import Settler
from sync.models import SyncConfiguration, SyncRetry


def remember(config: SyncConfiguration, side: str, settler: Settler) -> None:
    """Keep the batch's failures for the next run, forget the records that went through."""
    mine = SyncRetry.objects.filter(configuration=config, side=side)
    failed = {ext: why for ext, why in settler.failures.items() if ext not in settler.final}
    if not failed and not mine.exists():  # nothing waits: no look-up of the batch's ids
        return
    # Records that went through, and those that can never go through (a closed record).
    for chunk in chunked(sorted(settler.settled | settler.final)):
        mine.filter(external_id__in=chunk).delete()
    known: set[str] = set()
    for chunk in chunked(sorted(failed)):
        known |= set(mine.filter(external_id__in=chunk).values_list("external_id", flat=True))
    for external_id in known:
        local_id, message = failed[external_id]
        mine.filter(external_id=external_id).update(
            attempts=F("attempts") + 1, message=message, local_id=local_id
        )
    SyncRetry.objects.bulk_create(
        SyncRetry(
            configuration=config,
            side=side,
            external_id=external_id,
            local_id=local_id,
            message=message,
        )
        for external_id, (local_id, message) in failed.items()
        if external_id not in known
    )


def newest(config: SyncConfiguration, side: str) -> int:
    """Where the retries from before a run end (failures of this run wait for the next)."""
    last = SyncRetry.objects.filter(configuration=config, side=side).order_by("-pk").first()
    return last.pk if last else 0


def waiting(config: SyncConfiguration, side: str, upto: int) -> int:
    """How many records pages() will hand out."""
    return SyncRetry.objects.filter(configuration=config, side=side, pk__lte=upto).count()


def pages(config: SyncConfiguration, side: str, size: int, upto: int) -> Iterator[list[SyncRetry]]:
    """The records waiting to be tried again, oldest first, `size` at a time."""
    last = 0
    mine = SyncRetry.objects.filter(configuration=config, side=side, pk__lte=upto)
    while True:
        page = list(mine.filter(pk__gt=last).order_by("pk")[:size])
        if not page:
            return
        yield page
        last = page[-1].pk


def forget(retry_ids: list[int]) -> None:
    """Drop these retries (their records are gone from the side they were read from)."""
    for chunk in chunked(retry_ids):
        SyncRetry.objects.filter(pk__in=chunk).delete()
