"""Links between external ids and QMS rows, looked up and marked seen a chunk at a time."""

from __future__ import annotations

from eqms_integration.batching import chunked
from sync.models import SyncConfiguration, SyncLink, SyncRun


def links_by_external_id(config: SyncConfiguration, ids: list[str]) -> dict[str, SyncLink]:
    found: dict[str, SyncLink] = {}
    for chunk in chunked(ids):
        rows = SyncLink.objects.filter(configuration=config, external_id__in=chunk)
        found.update({link.external_id: link for link in rows})
    return found


def links_by_local_id(config: SyncConfiguration, pks: list[int]) -> dict[int, SyncLink]:
    found: dict[int, SyncLink] = {}
    for chunk in chunked(pks):
        rows = SyncLink.objects.filter(configuration=config, local_id__in=chunk)
        found.update({link.local_id: link for link in rows})
    return found


def mark_seen(config: SyncConfiguration, ids: list[str], run: SyncRun) -> None:
    for chunk in chunked(ids):
        SyncLink.objects.filter(configuration=config, external_id__in=chunk).update(
            last_seen_run=run.pk
        )
