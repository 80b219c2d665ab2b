from __future__ import annotations

import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from eqms_integration.text import counted
from sync.models import SyncConfiguration, SyncRun
from sync.services.runs import run_execute, run_start

BAR_WIDTH = 30
MISSING_IDS_SHOWN = 20
# Exit status per outcome; anything not listed (failed, timeout, cancelled) exits 1.
EXIT_STATUS = {
    SyncRun.Status.SUCCESS: 0,
    SyncRun.Status.PARTIAL: 2,
    SyncRun.Status.SUCCESS_WITH_CONFLICTS: 3,
}


class Command(BaseCommand):
    help = (
        "Run a sync configuration in the foreground with progress and a summary. Exit status: "
        "0 success, 2 partial (some rows failed), 3 success with conflicts waiting for a "
        "person, 1 anything else."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("configuration", help="id or name")
        parser.add_argument("--full", action="store_true", help="read everything, not the delta")
        parser.add_argument("--dry-run", action="store_true", help="read and map, write nothing")

    def handle(self, *args: Any, configuration: str, full: bool, dry_run: bool, **_: Any) -> None:
        config = SyncConfiguration.objects.filter(name=configuration).first()
        if config is None and configuration.isdigit():
            config = SyncConfiguration.objects.filter(pk=int(configuration)).first()
        if config is None:
            raise CommandError(f"No sync configuration with id or name {configuration!r}.")
        try:
            run = run_start(config=config, trigger="command", full=full, dry_run=dry_run)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        mode = ("full" if full or config.sync_type == "full" else "delta") + (
            ", dry run" if dry_run else ""
        )
        self.stdout.write(
            f"Run {run.pk} of {config.name!r} ({mode}), batches of {config.batch_size}"
        )
        run = run_execute(run=run, progress=self.progress)
        if self.stdout.isatty():
            self.stdout.write("")
        self.stdout.write(
            f"{run.status.upper()}: {run.processed} processed, {run.created} created, "
            f"{run.updated} updated, {run.skipped} unchanged, {run.failed} failed, "
            f"{run.conflicted} conflicts in {run.duration_ms} ms"
            + (f"; {run.missing_at_source} gone at the source" if run.missing_at_source else "")
            + (f", {run.retired} retired" if run.retired else "")
            + (" (dry run: nothing written)" if dry_run else "")
        )
        for error in run.row_errors.all()[:20]:
            self.stdout.write(f"  row {error.external_id}: {error.message}")
        if run.missing_at_source:
            shown = run.missing_at_source_ids[:MISSING_IDS_SHOWN]
            more = run.missing_at_source - len(shown)
            self.stdout.write(
                "  gone at the source: " + ", ".join(shown) + (f" and {more} more" if more else "")
            )
        if run.pending_conflicts:
            self.stdout.write(
                f"  {counted(run.pending_conflicts, 'conflict')} "
                + ("would wait" if dry_run else ("waits" if run.pending_conflicts == 1 else "wait"))
                + " for a person: admin Sync conflicts, or GET /api/sync/conflicts/"
                f"?configuration={config.pk}&status=pending"
            )
        status = EXIT_STATUS.get(run.status)
        if status is None:
            if run.error:
                self.stderr.write(run.error)
            raise CommandError(f"Run {run.pk} ended {run.status}.")
        if status:
            sys.exit(status)

    def progress(self, run: SyncRun, total: int | None) -> None:
        counts = (
            f"{run.created} created, {run.updated} updated, {run.skipped} unchanged, "
            f"{run.failed} failed" + (f", {run.conflicted} conflicts" if run.conflicted else "")
        )
        if total is None:  # a REST API that does not say how many
            line = f"{run.processed} rows so far: {counts}"
        else:
            filled = BAR_WIDTH * min(run.processed, total) // total if total else BAR_WIDTH
            line = f"[{'#' * filled:<{BAR_WIDTH}}] {run.processed}/{total} rows: {counts}"
        if self.stdout.isatty():
            self.stdout.write("\r" + line, ending="")
        else:
            self.stdout.write(line)
