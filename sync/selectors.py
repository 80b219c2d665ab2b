"""Reads of sync state that span several rows: run statistics per configuration."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Max, OuterRef, Q, Subquery, Sum
from django_celery_beat.models import PeriodicTask

from sync.models import SyncConfiguration, SyncConflict, SyncRun
from sync.services.schedules import next_run_at, task_name

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


def pending_conflicts_count() -> int:
    return SyncConflict.objects.filter(status=SyncConflict.Status.PENDING).count()


def configurations_health(now: datetime) -> list[dict[str, Any]]:
    """Per configuration, for the operations dashboard: its latest run (whatever its state),
    failed or timed-out runs in the last 24 h, conflicts waiting for a person and the next
    scheduled run. Five queries whatever the number of configurations."""
    since = now - timedelta(hours=24)
    latest = SyncRun.objects.filter(configuration=OuterRef("pk")).order_by("-queued_at", "-id")
    configs = list(
        SyncConfiguration.objects.annotate(latest_run_id=Subquery(latest.values("id")[:1]))
    )
    runs = SyncRun.objects.in_bulk([c.latest_run_id for c in configs if c.latest_run_id])
    failed = dict(
        SyncRun.objects.filter(
            status__in=[SyncRun.Status.FAILED, SyncRun.Status.TIMEOUT], finished_at__gte=since
        )
        .values_list("configuration_id")
        .annotate(n=Count("id"))
    )
    pending = dict(
        SyncConflict.objects.filter(status=SyncConflict.Status.PENDING)
        .values_list("configuration_id")
        .annotate(n=Count("id"))
    )
    tasks = {
        task.name: task
        for task in PeriodicTask.objects.filter(name__in=[task_name(c.pk) for c in configs])
    }
    return [
        {
            "configuration": config,
            "last_run": runs.get(config.latest_run_id),
            "failed_24h": failed.get(config.pk, 0),
            "pending_conflicts": pending.get(config.pk, 0),
            "next_run_at": next_run_at(config, tasks=tasks),
        }
        for config in configs
    ]
