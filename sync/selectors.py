"""Reads of sync state that span several rows: run statistics per configuration."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Max, Q, Sum

from sync.models import SyncConflict, SyncRun

LAST_RUN_FIELDS = (
    *("id", "status", "trigger", "started_at", "finished_at", "duration_ms"),
    *("processed", "created", "updated", "skipped", "failed", "conflicted", "pending_conflicts"),
    "dry_run",
)


def configuration_statistics(config_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Per configuration: its last finished run and totals over all its runs, in three
    queries whatever the number of configurations."""
    ids = list(config_ids)
    finished = SyncRun.objects.filter(configuration_id__in=ids).exclude(status__in=SyncRun.ACTIVE)
    totals = {
        row.pop("configuration_id"): row
        for row in finished.values("configuration_id").annotate(
            runs=Count("id"),
            succeeded=Count("id", filter=Q(status=SyncRun.Status.SUCCESS)),
            with_conflicts=Count("id", filter=Q(status=SyncRun.Status.SUCCESS_WITH_CONFLICTS)),
            partial=Count("id", filter=Q(status=SyncRun.Status.PARTIAL)),
            failed_runs=Count(
                "id", filter=Q(status__in=[SyncRun.Status.FAILED, SyncRun.Status.TIMEOUT])
            ),
            rows_processed=Sum("processed"),
            rows_created=Sum("created"),
            rows_updated=Sum("updated"),
            rows_failed=Sum("failed"),
            conflicts=Sum("conflicted"),
            last_run_id=Max("id"),
        )
    }
    last_ids = [row["last_run_id"] for row in totals.values()]
    last = {
        run["id"]: run for run in SyncRun.objects.filter(pk__in=last_ids).values(*LAST_RUN_FIELDS)
    }
    pending = dict(
        SyncConflict.objects.filter(configuration_id__in=ids, status=SyncConflict.Status.PENDING)
        .values_list("configuration_id")
        .annotate(n=Count("id"))
    )
    result = {}
    for config_id in ids:
        row = totals.get(config_id, {})
        last_id = row.pop("last_run_id", None)
        result[config_id] = {
            "last_run": last.get(last_id),
            "totals": {key: value or 0 for key, value in row.items()} or None,
            "pending_conflicts": pending.get(config_id, 0),
        }
    return result


def run_history(config_id: int, limit: int = 30) -> list[dict[str, Any]]:
    """The last `limit` finished runs of a configuration, oldest first (for its chart)."""
    runs = (
        SyncRun.objects.filter(configuration_id=config_id, finished_at__isnull=False)
        .order_by("-finished_at", "-id")
        .values(*LAST_RUN_FIELDS)[:limit]
    )
    return list(reversed(runs))
