"""What both halves of a run share: the batch transaction with its counts, row errors,
retries and cursor; progress, cancellation, timeout and heartbeat between batches."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import transaction
from django.utils import timezone

from sync.connectors.base import RemoteSession
from sync.engine import retries
from sync.engine.counts import COUNTS
from sync.engine.local import LocalStore
from sync.engine.settle import Settler
from sync.models import (
    SyncConfiguration,
    SyncConflict,
    SyncRowError,
    SyncRun,
    SyncState,
)

ProgressFn = Callable[[SyncRun, "int | None"], None]  # the run so far, rows to read in all


@contextmanager
def batch_transaction() -> Iterator[None]:
    """One batch's transaction, with Python's cyclic garbage collector held off until it
    ends: a batch keeps thousands of objects alive (rows, items, values), which the collector
    would otherwise scan again and again as the batch allocates (a fifth of a full run).
    Reference counting frees everything as usual; what cycles a batch leaves are collected
    once it is over, so memory stays bounded by one batch."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        with transaction.atomic():
            yield
    finally:
        if paused:
            gc.enable()


class RunStopped(Exception):
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


class PhaseBase:
    side: str  # SyncRetry.Side

    def __init__(
        self,
        run: SyncRun,
        store: LocalStore,
        session: RemoteSession,
        progress: ProgressFn | None,
        started: float,
    ) -> None:
        self.run, self.store, self.session, self.progress = run, store, session, progress
        self.config: SyncConfiguration = run.configuration
        self.delta = self.config.sync_type == SyncConfiguration.SyncType.DELTA and not run.full
        self.state, _ = SyncState.objects.get_or_create(configuration=self.config)
        self.started = started
        self.total: int | None = 0  # rows the whole run reads, both halves (set by the runner)
        self.retry_upto = 0
        self.beaten = False  # the batch committed beat the heartbeat already

    def settler(self) -> Settler:
        return Settler(self.run, self.store, self.session)

    def commit_batch(self, settler: Settler, state_fields: list[str]) -> None:
        """Called inside the batch transaction: counts, errors, retries and the cursor are
        kept with the batch, or (dry run) nothing at all is."""
        if self.run.dry_run:
            # Nothing is kept, not even the conflicts: count those this batch would leave.
            waiting = self.run.conflicts.filter(status=SyncConflict.Status.PENDING).count()
            settler.counts.would_wait(waiting)
            transaction.set_rollback(True)
            return
        if state_fields:
            self.state.save(update_fields=[*state_fields, "updated_at"])
        SyncRowError.objects.bulk_create(settler.errors)
        retries.remember(self.config, self.side, settler)
        # The counts and the heartbeat in one UPDATE of the batch's transaction (not a
        # transaction of its own after it); a run ended from elsewhere keeps its counts, and
        # after_batch stops it once the batch is committed.
        counts = {name: getattr(self.run, name) for name in COUNTS}
        beating = SyncRun.objects.filter(pk=self.run.pk, status=SyncRun.Status.IN_PROGRESS)
        self.beaten = bool(beating.update(heartbeat_at=timezone.now(), **counts))
        if not self.beaten:
            self.run.save(update_fields=COUNTS)

    def after_batch(self) -> None:
        if self.progress:
            self.progress(self.run, self.total)
        beaten, self.beaten = self.beaten, False
        beating = SyncRun.objects.filter(pk=self.run.pk, status=SyncRun.Status.IN_PROGRESS)
        if not beaten and not beating.update(heartbeat_at=timezone.now()):
            ended = SyncRun.objects.filter(pk=self.run.pk).values_list("status", "error").first()
            status, error = ended or (SyncRun.Status.FAILED, "The run was deleted.")
            if status == SyncRun.Status.CANCELLED:
                raise RunStopped(status, "Cancelled while running.")
            raise RunStopped(status, error or "The run was ended from elsewhere.")
        if time.monotonic() - self.started > self.config.timeout_seconds:
            raise RunStopped(
                SyncRun.Status.TIMEOUT,
                f"Stopped after the timeout of {self.config.timeout_seconds} s.",
            )

    def plan(self) -> int | None:
        """Fix what this half will read (before either half writes anything) and say how
        many rows that is, retries included; None when the source cannot tell."""
        raise NotImplementedError
