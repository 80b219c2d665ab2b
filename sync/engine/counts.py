"""The one place a run's counters change: every half, batch, retirement, conflict left
waiting and row gone at the source counts through a RunCounts, so what each counter means
is said once."""

from __future__ import annotations

from sync.models import SyncRun

# Saved with every batch (in its transaction); missing_at_source, retired and pending
# conflicts are saved when the run ends.
COUNTS = ["processed", "created", "updated", "skipped", "failed", "conflicted"]


class RunCounts:
    def __init__(self, run: SyncRun) -> None:
        self.run = run

    def read(self) -> None:
        """A record was read from the side being synchronised (failed ones too)."""
        self.run.processed += 1

    def written(self, *, new: bool) -> None:
        """A record was created (new) or updated, in the QMS or at the external side."""
        if new:
            self.run.created += 1
        else:
            self.run.updated += 1

    def skipped(self) -> None:
        """Nothing to write: in step, held for a person, or settled by the other half."""
        self.run.skipped += 1

    def failed(self) -> None:
        self.run.failed += 1

    def conflicted(self) -> None:
        """Changed on both sides since they last agreed (whatever the strategy made of it)."""
        self.run.conflicted += 1

    def would_wait(self, conflicts: int) -> None:
        """A dry-run batch would have left these conflicts waiting (it keeps none)."""
        self.run.pending_conflicts += conflicts

    def left_waiting(self, conflicts: int) -> None:
        """At the end of a run that keeps its work: the conflicts waiting for a person."""
        self.run.pending_conflicts = conflicts

    def missing(self, count: int, first_ids: list[str]) -> None:
        """After a complete full read: linked rows the source no longer has."""
        self.run.missing_at_source, self.run.missing_at_source_ids = count, first_ids

    def retiring(self) -> None:
        """Retirements are counted afresh by each complete full read."""
        self.run.retired = 0

    def retired(self) -> None:
        self.run.retired += 1
