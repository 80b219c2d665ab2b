"""Starting, queueing, cancelling and retrying runs.

One active run per configuration. Runs are rows: a queued run is handed to a worker on commit,
and the periodic sweeper re-sends queued runs whose message was lost, times out runs whose
worker died, and retries failed runs with exponential backoff up to max_retries.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit import actors
from audit.context import SYNC, audit_context
from audit.models import AuditEvent
from audit.services import changes_between, event_record, field_values
from eqms_integration.outages import (
    BROKER,
    outage_over,
    outage_report,
    unavailable_service,
    worth_trying,
)
from operations import occurrences
from sync.engine import runner
from sync.engine.phases import ProgressFn
from sync.models import SyncConfiguration, SyncRun

logger = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 60
RETRY_CAP_SECONDS = 3600
REQUEUE_AFTER = timedelta(minutes=2)
FINAL = (SyncRun.Status.FAILED, SyncRun.Status.TIMEOUT)
# What the audit trail shows of a run when it is started, queued or retried.
TRAIL_FIELDS = ("configuration", "status", "trigger", "full", "dry_run", "attempt", "retry_of")
# Enqueued by name, so this module never imports the tasks (which import it).
EXECUTE_TASK = "sync.execute_run"


def _enqueue(run_id: int, countdown: float | None = None) -> None:
    """Hand the run to a worker when the transaction commits (after `countdown` seconds, which
    the sweeper keeps within its interval). A broker that is down loses nothing: the run stays
    queued and the sweeper sends it again."""

    def send() -> None:
        if not worth_trying(BROKER):  # it failed seconds ago: the sweeper sends the run later
            return
        try:
            current_app.signature(EXECUTE_TASK).apply_async((run_id,), countdown=countdown)
        except Exception as exc:
            if unavailable_service(exc) != BROKER:
                logger.warning("could not enqueue sync run %s", run_id, exc_info=True)
            else:
                outage_report(BROKER, exc)
        else:
            outage_over(BROKER)

    transaction.on_commit(send)


def _record(action: str, run: SyncRun, changes: dict) -> None:
    event_record(
        action=action,
        object_type=AuditEvent.ObjectType.SYNC_RUN,
        object_id=run.pk,
        object_repr=f"{run.configuration.name} (run {run.pk})",
        changes=changes,
    )


def _expire_stale(config: SyncConfiguration) -> int:
    """End the runs of a configuration that can no longer finish: in progress past their
    timeout, or silent for longer than the lease (their worker died); returns how many."""
    now = timezone.now()
    timeout = now - timedelta(seconds=config.timeout_seconds)
    silent = now - timedelta(seconds=settings.SYNC_RUN_LEASE_SECONDS)
    running = config.runs.filter(status=SyncRun.Status.IN_PROGRESS)
    timed_out = running.filter(started_at__lt=timeout).update(
        status=SyncRun.Status.TIMEOUT,
        finished_at=now,
        error=f"Marked as timed out: still running after its timeout of "
        f"{config.timeout_seconds} s.",
    )
    died = running.filter(
        Q(heartbeat_at__lt=silent) | Q(heartbeat_at__isnull=True, started_at__lt=silent)
    ).update(
        status=SyncRun.Status.FAILED,
        finished_at=now,
        error=f"Marked as failed: no progress for {settings.SYNC_RUN_LEASE_SECONDS} s "
        "(its worker stopped, or lost the database for that long); the next run resumes "
        "after its last committed batch.",
    )
    for run in config.runs.filter(finished_at=now, status__in=FINAL) if timed_out + died else ():
        occurrences.sync_run_ended(run)  # the runs just ended here
    return timed_out + died


def _run_create(
    config: SyncConfiguration,
    *,
    trigger: str,
    full: bool,
    dry_run: bool,
    queued: bool,
    retry_of: SyncRun | None = None,
) -> SyncRun:
    """The new run, in progress or queued, in the audit trail as started (or retried);
    refused while another is active."""
    SyncConfiguration.objects.select_for_update().get(pk=config.pk)  # serialises starts
    _expire_stale(config)
    active = config.runs.filter(status__in=SyncRun.ACTIVE).first()
    if active is not None:
        message = f"{config.name} is already running (run {active.pk}, {active.status})."
        raise ValidationError({"non_field_errors": message})
    run = SyncRun.objects.create(
        configuration=config,
        trigger=trigger,
        full=full,
        dry_run=dry_run,
        status=SyncRun.Status.QUEUED if queued else SyncRun.Status.IN_PROGRESS,
        started_at=None if queued else timezone.now(),
        attempt=retry_of.attempt + 1 if retry_of else 1,
        retry_of=retry_of,
    )
    _record(
        "retried" if retry_of else "started",
        run,
        changes_between({}, field_values(run, TRAIL_FIELDS)),
    )
    return run


@transaction.atomic
def run_start(
    *,
    config: SyncConfiguration,
    trigger: str = "manual",
    full: bool = False,
    dry_run: bool = False,
) -> SyncRun:
    """Create a run in progress, for this process to carry out now (the run_sync command).
    Refused while another is active."""
    return _run_create(config, trigger=trigger, full=full, dry_run=dry_run, queued=False)


@transaction.atomic
def _run_queue(
    *,
    config: SyncConfiguration,
    trigger: str,
    full: bool,
    dry_run: bool,
    retry_of: SyncRun | None = None,
    countdown: float | None = None,
) -> SyncRun:
    """Create a queued run and hand it to a worker on commit (which may be told to wait up to
    one sweep interval). Refused while another is active."""
    run = _run_create(
        config, trigger=trigger, full=full, dry_run=dry_run, queued=True, retry_of=retry_of
    )
    _enqueue(run.pk, countdown)
    return run


def run_request(
    *, config: SyncConfiguration, trigger: str = "api", full: bool = False, dry_run: bool = False
) -> SyncRun:
    """Queue a run for a worker (the REST API, the admin, schedules)."""
    if not config.enabled:
        raise ValidationError({"non_field_errors": f"{config.name} is disabled."})
    return _run_queue(config=config, trigger=trigger, full=full, dry_run=dry_run)


def run_claim(run_id: int) -> SyncRun | None:
    """Move a queued run to in_progress for this worker; None if another took it or it is gone."""
    claimed = SyncRun.objects.filter(pk=run_id, status=SyncRun.Status.QUEUED).update(
        status=SyncRun.Status.IN_PROGRESS, started_at=timezone.now()
    )
    return (
        SyncRun.objects.select_related("configuration__connection").get(pk=run_id)
        if claimed
        else None
    )


def run_execute(*, run: SyncRun, progress: ProgressFn | None = None) -> SyncRun:
    """Carry out a run in progress (claimed by a worker, or started by the run_sync command)
    to its end; always finishes it with a status. What the run writes is attributed to it
    in the audit trail (actor the run, channel sync)."""
    with audit_context(actor=actors.sync_run(run), channel=SYNC):
        return runner.execute(run, progress=progress)


@transaction.atomic
def run_cancel(*, run: SyncRun) -> SyncRun:
    """A queued run never starts; a running one stops after its current batch."""
    now = timezone.now()
    was = SyncRun.objects.filter(pk=run.pk).values_list("status", flat=True).first()
    cancelled = SyncRun.objects.filter(pk=run.pk, status__in=SyncRun.ACTIVE).update(
        status=SyncRun.Status.CANCELLED, finished_at=now, error="Cancelled on request."
    )
    if not cancelled:
        raise ValidationError(
            {"non_field_errors": f"Run {run.pk} has already ended ({run.status})."}
        )
    run.refresh_from_db()
    _record("cancelled", run, {"status": [was, run.status]})
    return run


def run_retry(*, run: SyncRun, trigger: str = "retry", countdown: float | None = None) -> SyncRun:
    if run.status in SyncRun.ACTIVE:
        raise ValidationError({"non_field_errors": f"Run {run.pk} is still {run.status}."})
    return _run_queue(
        config=run.configuration,
        trigger=trigger,
        full=run.full,
        dry_run=run.dry_run,
        retry_of=run,
        countdown=countdown,
    )


@transaction.atomic
def run_delete(*, run: SyncRun) -> None:
    """Delete a run that has ended (its row errors and conflicts' link to it go with it, as
    the models say); an active run is refused: cancel it first."""
    run = SyncRun.objects.select_for_update().select_related("configuration").get(pk=run.pk)
    if run.status in SyncRun.ACTIVE:
        raise ValidationError(
            {"non_field_errors": f"Run {run.pk} is still {run.status}: cancel it first."}
        )
    values, pk = field_values(run, TRAIL_FIELDS), run.pk
    run.delete()
    run.pk = pk
    _record("deleted", run, changes_between(values, {}))


def retry_delay(attempt: int) -> timedelta:
    return timedelta(seconds=min(RETRY_BASE_SECONDS * 2 ** (attempt - 1), RETRY_CAP_SECONDS))


def runs_sweep() -> dict[str, int]:
    """Periodic (celery-beat, every SYNC_SWEEP_INTERVAL_SECONDS): re-send lost queued runs,
    expire dead ones, and queue each retry that falls due before the next sweep, to start at
    its due time (a countdown of at most one interval), so retries are neither early nor a
    sweep late."""
    now = timezone.now()
    interval = timedelta(seconds=settings.SYNC_SWEEP_INTERVAL_SECONDS)
    counts = {"requeued": 0, "expired": 0, "retried": 0}
    # A retry may wait up to one interval in the broker before it starts: not lost.
    for run in SyncRun.objects.filter(
        status=SyncRun.Status.QUEUED, queued_at__lt=now - REQUEUE_AFTER - interval
    ):
        with transaction.atomic():
            _enqueue(run.pk)
        counts["requeued"] += 1
    for config in SyncConfiguration.objects.filter(
        runs__status=SyncRun.Status.IN_PROGRESS
    ).distinct():
        counts["expired"] += _expire_stale(config)
    failed = SyncRun.objects.filter(status__in=FINAL, dry_run=False, retries__isnull=True)
    for run in failed.select_related("configuration"):
        config = run.configuration
        due_at = run.finished_at + retry_delay(run.attempt) if run.finished_at else None
        if not (config.enabled and due_at and due_at <= now + interval):
            continue
        if run.attempt > config.max_retries:
            continue
        try:
            wait = max((due_at - now).total_seconds(), 0.0)
            run_retry(run=run, trigger="auto-retry", countdown=wait or None)
            counts["retried"] += 1
        except ValidationError:
            logger.info("retry of run %s deferred: another run is active", run.pk)
    return counts
