"""One run of a configuration: read the source in keyset-ordered batches, map and transform,
apply each batch in one local transaction together with the cursor that covers it.

A crash or kill between batches loses nothing and duplicates nothing: the next run resumes
after the last committed batch, and applying a row twice leaves the same state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from sync import transforms
from sync.connectors.errors import ConnectorError
from sync.connectors.sql import SQLConnector, count_rows, max_value, select_batch
from sync.engine import cursor as cursor_codec
from sync.engine.local import CREATED, UPDATED, apply_row
from sync.models import SyncConfiguration, SyncRowError, SyncRun, SyncState
from sync.services.configurations import configuration_validate
from sync.services.connections import connector_for

ProgressFn = Callable[[SyncRun, int], None]  # the run so far, and the rows to read in all


class RunStopped(Exception):
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


def map_row(config: SyncConfiguration, row: dict[str, Any]) -> dict[str, Any]:
    values = {}
    for mapping in config.field_mappings:
        try:
            values[mapping["local"]] = transforms.apply(
                mapping.get("transform"), row[mapping["remote"]]
            )
        except transforms.TransformError as exc:
            raise transforms.TransformError(f"{mapping['local']}: {exc}") from None
    return values


def _apply_batch(run: SyncRun, config: SyncConfiguration, rows: list[dict]) -> list[SyncRowError]:
    errors = []
    for row in rows:
        external_id = str(row[config.remote_key])
        run.processed += 1
        try:
            values = map_row(config, row)
            with transaction.atomic():  # a failing row leaves no trace, the batch goes on
                outcome = apply_row(config, external_id, values)
        except (transforms.TransformError, ValidationError) as exc:
            run.failed += 1
            message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            errors.append(SyncRowError(run=run, external_id=external_id, message=message))
            continue
        if outcome == CREATED:
            run.created += 1
        elif outcome == UPDATED:
            run.updated += 1
        else:
            run.skipped += 1
    return errors


def _check_still_wanted(run: SyncRun, config: SyncConfiguration, started: float) -> None:
    if SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.CANCELLED).exists():
        raise RunStopped(SyncRun.Status.CANCELLED, "Cancelled while running.")
    if time.monotonic() - started > config.timeout_seconds:
        raise RunStopped(
            SyncRun.Status.TIMEOUT, f"Stopped after the timeout of {config.timeout_seconds} s."
        )


def _read_and_apply(run: SyncRun, config: SyncConfiguration, progress: ProgressFn | None) -> None:
    connector = connector_for(config.connection)
    if not isinstance(connector, SQLConnector):
        raise RunStopped(SyncRun.Status.FAILED, "REST sources are not supported by runs yet.")
    if config.sync_direction != SyncConfiguration.Direction.INBOUND:
        raise RunStopped(
            SyncRun.Status.FAILED,
            f"{config.sync_direction} runs are not supported yet; inbound only.",
        )
    delta = config.sync_type == SyncConfiguration.SyncType.DELTA and not run.full
    state, _ = SyncState.objects.get_or_create(configuration=config)
    after = None
    if delta and state.cursor_value is not None:
        after = (cursor_codec.decode(state.cursor_value), cursor_codec.decode(state.cursor_key))
    started = time.monotonic()
    columns = [mapping["remote"] for mapping in config.field_mappings]
    with connector.open() as db:
        upper = max_value(db, config.remote_object, config.delta_field) if delta else None
        if delta and upper is None:
            return  # an empty source, or no row has a cursor value yet
        total = count_rows(
            db, object_name=config.remote_object, key=config.remote_key,
            cursor_field=config.delta_field if delta else None, after=after, upper=upper,
        )  # fmt: skip
        while True:
            rows = select_batch(
                db, kind=connector.kind, object_name=config.remote_object, columns=columns,
                key=config.remote_key, cursor_field=config.delta_field if delta else None,
                after=after, upper=upper, limit=config.batch_size,
            )  # fmt: skip
            if not rows:
                break
            last = rows[-1]
            after = (last[config.delta_field] if delta else None, last[config.remote_key])
            with transaction.atomic():
                errors = _apply_batch(run, config, rows)
                if run.dry_run:
                    transaction.set_rollback(True)
                else:
                    if delta:
                        state.cursor_value = cursor_codec.encode(after[0])
                        state.cursor_key = cursor_codec.encode(after[1])
                        state.save(update_fields=["cursor_value", "cursor_key", "updated_at"])
                    SyncRowError.objects.bulk_create(errors)
                    run.save(update_fields=_COUNTS)
            if progress:
                progress(run, total)
            if len(rows) < config.batch_size:
                break
            _check_still_wanted(run, config, started)


_COUNTS = ["processed", "created", "updated", "skipped", "failed", "conflicted"]


def _finish(run: SyncRun, status: str, error: str, clock: float) -> SyncRun:
    run.status, run.error = status, error
    run.finished_at = timezone.now()
    run.duration_ms = int((time.monotonic() - clock) * 1000)
    run.save(update_fields=[*_COUNTS, "status", "error", "finished_at", "duration_ms"])
    return run


def execute(run: SyncRun, *, progress: ProgressFn | None = None) -> SyncRun:
    """Carry out a run that has been started (status in_progress); always finishes it."""
    config = run.configuration
    clock = time.monotonic()
    try:
        configuration_validate(config)
        _read_and_apply(run, config, progress)
    except RunStopped as exc:
        return _finish(run, exc.status, str(exc), clock)
    except ConnectorError as exc:
        return _finish(run, SyncRun.Status.FAILED, str(exc), clock)
    except ValidationError as exc:
        message = "Configuration no longer matches the source: " + "; ".join(exc.messages)
        return _finish(run, SyncRun.Status.FAILED, message, clock)
    except Exception as exc:
        # Never leave a run in progress. The batch being applied was rolled back: keep the
        # counts of the committed batches only, then let the error reach the logs.
        run.refresh_from_db(fields=_COUNTS)
        _finish(run, SyncRun.Status.FAILED, f"Unexpected error: {type(exc).__name__}", clock)
        raise
    if run.failed:
        return _finish(
            run, SyncRun.Status.PARTIAL, f"{run.failed} row(s) failed; see the row errors.", clock
        )
    return _finish(run, SyncRun.Status.SUCCESS, "", clock)
