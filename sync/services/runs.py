"""Starting runs: one active run per configuration; a run stuck past its timeout (its worker
died) is marked `timeout` so the next one can proceed."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from sync.models import SyncConfiguration, SyncRun


@transaction.atomic
def run_start(
    *, config: SyncConfiguration, trigger: str = "manual", full: bool = False, dry_run: bool = False
) -> SyncRun:
    SyncConfiguration.objects.select_for_update().get(pk=config.pk)  # serialises starts
    now = timezone.now()
    stale_before = now - timedelta(seconds=config.timeout_seconds)
    config.runs.filter(status__in=SyncRun.ACTIVE, queued_at__lt=stale_before).update(
        status=SyncRun.Status.TIMEOUT, finished_at=now,
        error="Marked as timed out: it outlived its timeout (its worker may have died).",
    )  # fmt: skip
    active = config.runs.filter(status__in=SyncRun.ACTIVE).first()
    if active is not None:
        message = f"{config.name} is already running (run {active.pk}, {active.status})."
        raise ValidationError({"non_field_errors": message})
    return SyncRun.objects.create(
        configuration=config, trigger=trigger, full=full, dry_run=dry_run,
        status=SyncRun.Status.IN_PROGRESS, started_at=now,
    )  # fmt: skip
