"""One run of a configuration, start to finish.

Inbound runs read the external side; outbound runs read the QMS rows changed since the last
run; bidirectional runs do both, inbound first, comparing each record with the values both
sides last agreed on. Whatever happens, the run ends with a status.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.db import connection
from django.utils import timezone

from audit import actors
from audit.context import SYNC, audit_context
from eqms_integration import metrics
from eqms_integration.outages import DATABASE, cause_of, outage_report
from eqms_integration.text import counted
from operations import occurrences
from sync.configuration_checks import session_check
from sync.connectors.errors import ConnectorError
from sync.engine.counts import COUNTS, RunCounts
from sync.engine.deletions import deletions
from sync.engine.inbound import InboundPhase
from sync.engine.local import store_for
from sync.engine.outbound import OutboundPhase
from sync.engine.phases import ProgressFn, RunStopped
from sync.engine.remote import remote_session
from sync.models import SyncConfiguration, SyncConflict, SyncRun

logger = logging.getLogger(__name__)
Direction = SyncConfiguration.Direction
DATABASE_POLL_SECONDS = 0.5
FINISH_FIELDS = [
    *COUNTS,
    "status",
    "error",
    "finished_at",
    "duration_ms",
    "missing_at_source",
    "missing_at_source_ids",
    "retired",
    "pending_conflicts",
]


def _count_pending_conflicts(run: SyncRun) -> None:
    """The conflicts this run left waiting for a person (a dry run counted its own)."""
    if not run.dry_run:
        waiting = run.conflicts.filter(status=SyncConflict.Status.PENDING).count()
        RunCounts(run).left_waiting(waiting)


def _outcome(run: SyncRun) -> tuple[str, str]:
    """The status of a run that carried out its work, and what it says."""
    if run.failed:
        return SyncRun.Status.PARTIAL, f"{counted(run.failed, 'row')} failed; see the row errors."
    if run.pending_conflicts:
        conflicts = counted(run.pending_conflicts, "conflict")
        one = run.pending_conflicts == 1
        waiting = (
            f"{conflicts} {'waits' if one else 'wait'} for a person to resolve "
            f"{'it' if one else 'them'}."
        )
        return SyncRun.Status.SUCCESS_WITH_CONFLICTS, waiting
    return SyncRun.Status.SUCCESS, ""


def _finish(run: SyncRun, status: str | None, error: str, clock: float) -> SyncRun:
    """Save the end of the run; status None: the outcome follows from its counts."""
    _count_pending_conflicts(run)
    if status is None:
        status, error = _outcome(run)
    run.status, run.error = status, error
    run.finished_at = timezone.now()
    run.duration_ms = int((time.monotonic() - clock) * 1000)
    run.save(update_fields=FINISH_FIELDS)
    metrics.sync_run_finished(run)
    occurrences.sync_run_ended(run)
    return run


def _carry_out(run: SyncRun, progress: ProgressFn | None) -> None:
    config = run.configuration
    store = store_for(config)
    started = time.monotonic()
    with remote_session(config) as session:  # an unreachable source fails here, saying so
        session_check(config, session)  # with what the session described as it opened
        # Both halves fix their upper bounds now, before either writes anything.
        inbound = InboundPhase(run, store, session, progress, started)
        two_way = config.sync_direction == Direction.BIDIRECTIONAL
        outbound = OutboundPhase(
            run, store, session, progress, started, inbound=inbound if two_way else None
        )
        halves = [
            half
            for half, wanted in (
                (inbound, config.sync_direction != Direction.OUTBOUND),
                (outbound, config.sync_direction != Direction.INBOUND),
            )
            if wanted
        ]
        planned = [half.plan() for half in halves]  # so progress shows the run's real total
        for half in halves:
            half.total = None if None in planned else sum(planned)
        if config.sync_direction != Direction.OUTBOUND:
            read_everything = inbound.run_phase()
            if read_everything and not inbound.delta and not run.dry_run:
                deletions(run, store)
        if config.sync_direction != Direction.INBOUND:
            outbound.run_phase()


def execute(run: SyncRun, *, progress: ProgressFn | None = None) -> SyncRun:
    """Carry out a run that has been started (status in_progress); always finishes it."""
    clock = time.monotonic()
    # Every record the run writes is audited as the run's doing, through the sync channel.
    with audit_context(actor=actors.sync_run(run), channel=SYNC):
        try:
            return _execute(run, progress, clock)
        except (DatabaseOperationalError, DatabaseInterfaceError) as exc:
            # The service's own database (errors of an external one arrive as ConnectorError).
            return _finish_when_database_answers(run, exc, clock)


def _execute(run: SyncRun, progress: ProgressFn | None, clock: float) -> SyncRun:
    try:
        _carry_out(run, progress)
    except RunStopped as exc:
        return _finish(run, exc.status, str(exc), clock)
    except ConnectorError as exc:
        return _finish(run, SyncRun.Status.FAILED, str(exc), clock)
    except ValidationError as exc:
        message = "Configuration no longer matches the source: " + "; ".join(exc.messages)
        return _finish(run, SyncRun.Status.FAILED, message, clock)
    except (DatabaseOperationalError, DatabaseInterfaceError):
        raise
    except Exception as exc:
        # Never leave a run in progress. The batch being applied was rolled back: keep the
        # counts of the committed batches only, then let the error reach the logs.
        run.refresh_from_db(fields=COUNTS)
        _finish(run, SyncRun.Status.FAILED, f"Unexpected error: {type(exc).__name__}", clock)
        raise
    return _finish(run, None, "", clock)


def _finish_when_database_answers(run: SyncRun, exc: Exception, clock: float) -> SyncRun:
    """A database error (the server went away, or refused a statement): wait until it answers
    again — up to the run's lease, after which the sweeper ends the run anyway — then end the
    run as failed with that error, so its retry follows the configuration's policy and new
    runs are not refused as "already running" meanwhile."""
    outage_report(DATABASE, exc)
    waited = _wait_for_database(deadline=time.monotonic() + settings.SYNC_RUN_LEASE_SECONDS)
    error = f"Database error during the run: {cause_of(exc)}."
    if waited >= 0.5:
        error += f" The service's database could not be reached for {waited:.1f} s."
    error += " Batches committed before it are kept; the next run resumes after them."
    ended = SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.IN_PROGRESS).update(
        status=SyncRun.Status.FAILED,
        error=error,
        finished_at=timezone.now(),
        duration_ms=int((time.monotonic() - clock) * 1000),
    )
    if not ended:
        logger.info("sync run %s was ended elsewhere while its database was away", run.pk)
    run.refresh_from_db()
    return run


def _wait_for_database(*, deadline: float) -> float:
    """Seconds until the default database accepts a connection again; raises the last error
    at the deadline (the task fails; the sweeper ends the run once its lease has passed)."""
    started = time.monotonic()
    while True:
        connection.close()  # the old connection is broken; Django opens a new one
        try:
            connection.ensure_connection()
            return time.monotonic() - started
        except (DatabaseOperationalError, DatabaseInterfaceError):
            if time.monotonic() >= deadline:
                raise
            time.sleep(DATABASE_POLL_SECONDS)
