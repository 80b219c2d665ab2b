"""What both halves of a run share: the batch transaction with its counts, row errors,
retries and cursor; progress, cancellation, timeout and heartbeat between batches; link
look-ups; and, after a complete full read, the rows the source no longer has."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from eqms_integration.batching import chunked
from sync.connectors.base import RemoteSession
from sync.engine import retries
from sync.engine.local import LocalStore
from sync.engine.settle import Settler, error_text
from sync.models import (
    SyncConfiguration,
    SyncConflict,
    SyncLink,
    SyncRowError,
    SyncRun,
    SyncState,
)

COUNTS = ["processed", "created", "updated", "skipped", "failed", "conflicted"]
ProgressFn = Callable[[SyncRun, "int | None"], None]  # the run so far, rows to read in all


class RunStopped(Exception):
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


class PhaseBase:
    side: str  # SyncRetry.Side

    def __init__(
        self, run: SyncRun, store: LocalStore, session: RemoteSession,
        progress: ProgressFn | None, started: float,
    ) -> None:  # fmt: skip
        self.run, self.store, self.session, self.progress = run, store, session, progress
        self.config: SyncConfiguration = run.configuration
        self.delta = self.config.sync_type == SyncConfiguration.SyncType.DELTA and not run.full
        self.state, _ = SyncState.objects.get_or_create(configuration=self.config)
        self.started = started
        self.total: int | None = 0  # rows the whole run reads, both halves (set by the runner)
        self.retry_upto = 0

    def settler(self) -> Settler:
        return Settler(self.run, self.store, self.session)

    def commit_batch(self, settler: Settler, state_fields: list[str]) -> None:
        """Called inside the batch transaction: counts, errors, retries and the cursor are
        kept with the batch, or (dry run) nothing at all is."""
        if self.run.dry_run:
            # Nothing is kept, not even the conflicts: count those this batch would leave.
            waiting = self.run.conflicts.filter(status=SyncConflict.Status.PENDING).count()
            self.run.pending_conflicts += waiting
            transaction.set_rollback(True)
            return
        if state_fields:
            self.state.save(update_fields=[*state_fields, "updated_at"])
        SyncRowError.objects.bulk_create(settler.errors)
        retries.remember(self.config, self.side, settler)
        self.run.save(update_fields=COUNTS)

    def after_batch(self) -> None:
        if self.progress:
            self.progress(self.run, self.total)
        beating = SyncRun.objects.filter(pk=self.run.pk, status=SyncRun.Status.IN_PROGRESS)
        if not beating.update(heartbeat_at=timezone.now()):
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


def deletions(run: SyncRun, store: LocalStore) -> None:
    """After a complete full read: count linked rows the source no longer has, and retire
    them when the configuration says so (inbound configurations only)."""
    config = run.configuration
    missing = SyncLink.objects.filter(configuration=config).exclude(last_seen_run=run.pk)
    run.missing_at_source = missing.count()
    ids = missing.order_by("external_id").values_list("external_id", flat=True)
    run.missing_at_source_ids = list(ids[: SyncRun.MISSING_IDS_KEPT])
    run.retired = 0
    if not config.apply_deletions or run.dry_run:
        return
    for chunk in chunked(list(missing.values_list("pk", "local_id", "external_id"))):
        objs = store.get_many(local_id for _, local_id, _ in chunk)
        for link_pk, local_id, external_id in chunk:
            obj = objs.get(local_id)
            try:
                with transaction.atomic():
                    if obj is not None and store.retire(obj):
                        run.retired += 1
                    if obj is None or store.retire_deletes:
                        SyncLink.objects.filter(pk=link_pk).delete()
            except ValidationError as exc:
                run.failed += 1
                SyncRowError.objects.create(
                    run=run, external_id=external_id,
                    message=f"Gone at the source, but could not be retired: {error_text(exc)}",
                )  # fmt: skip
