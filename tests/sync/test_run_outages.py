"""A run that loses the service's database ends `failed` with the real cause as soon as the
database answers again, and retries start when they are due: not a sweep late, not early.

The database goes away for real (the run's connection is pointed at a database that cannot be
reached, then back); tests/outages/ does the same with a PostgreSQL cluster it stops."""

from __future__ import annotations

import re
import threading
import time
from datetime import datetime, timedelta

import pytest
from django.db import connections
from django.utils import timezone

from quality.models import Equipment
from sync.models import SyncRun
from sync.services.runs import run_execute, run_start, runs_sweep
from tests.conftest import unreachable_database
from tests.sync.sources import SQLiteSource
from tests.sync.test_engine import configure, rows
from tests.webhooks import conftest as webhook_fixtures

# The webhooks' memory broker and clock, as fixtures of this module too.
memory_broker = webhook_fixtures.memory_broker
clock = webhook_fixtures.clock

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sqlite_source(tmp_path, settings) -> SQLiteSource:
    settings.SYNC_SQLITE_DIRS = [str(tmp_path)]
    source = SQLiteSource(tmp_path)
    source.create()
    return source


def test_a_run_that_loses_the_database_ends_failed_with_the_cause_once_it_is_back(
    sqlite_source, tmp_path, log_lines
):
    sqlite_source.insert(rows(30))
    config = configure(sqlite_source, batch_size=5)
    database = connections["default"]
    saved = dict(database.settings_dict)
    back = threading.Timer(1.0, lambda: database.settings_dict.update(saved))
    committed: list[int] = []

    def lose_the_database_after_two_batches(run: SyncRun, total: int | None) -> None:
        committed.append(run.processed)
        if len(committed) == 2:
            database.close()
            database.settings_dict.update(unreachable_database(saved, tmp_path))
            back.start()  # the database answers again a second later

    started = time.monotonic()
    try:
        lost = run_execute(
            run=run_start(config=config), progress=lose_the_database_after_two_batches
        )
    finally:
        back.join()
    took = time.monotonic() - started
    resumed = run_execute(run=run_start(config=config))  # not refused as "already running"

    assert lost.status == "failed"
    assert lost.error.startswith("Database error during the run: OperationalError: ")
    unreachable = re.search(r"could not be reached for (\d+\.\d) s", lost.error)
    assert unreachable and 0.9 <= float(unreachable[1]) < 5
    assert SyncRun.objects.get(pk=lost.pk).error == lost.error
    assert lost.processed == 10 and lost.finished_at is not None
    assert took < 10  # as soon as it was back, not a lease (600 s) later
    assert (resumed.status, resumed.processed) == ("success", 20)
    assert Equipment.objects.count() == 30
    down, up = log_lines.outages("database")
    assert down.startswith("database unavailable (OperationalError: ")
    assert up.startswith("database available again after ")
    assert log_lines.tracebacks == []


def retries_sent(messages) -> list[tuple[int, float]]:
    """(run id, seconds until it may start) of the execute_run messages on the broker."""
    now = datetime.now(tz=timezone.get_current_timezone())
    sent = []
    for message in messages:
        assert message.headers["task"] == "sync.execute_run"
        eta = message.headers.get("eta")
        wait = (datetime.fromisoformat(eta) - now).total_seconds() if eta else 0.0
        sent.append((message.decode()[0][0], wait))
    return sent


def broker_raw_messages() -> list:
    from eqms_integration.celery import app

    messages = []
    with app.connection_for_read() as conn:
        channel = conn.default_channel
        while (message := channel.basic_get(app.conf.task_default_queue, no_ack=True)) is not None:
            messages.append(message)
    return messages


def test_a_failed_run_is_retried_at_its_due_time_by_the_sweep_before_it(
    sqlite_source,
    memory_broker,
    clock,
    settings,
):
    settings.SYNC_SWEEP_INTERVAL_SECONDS = 60
    config = configure(sqlite_source, max_retries=3)
    failed = SyncRun.objects.create(
        configuration=config, status="failed", finished_at=timezone.now(), error="boom"
    )

    clock.advance(1)  # the next sweep comes a second after the failure
    first = runs_sweep()
    [(run_id, wait)] = retries_sent(broker_raw_messages())

    assert first["retried"] == 1
    retry = SyncRun.objects.get(retry_of=failed)
    assert (retry.pk, retry.status, retry.attempt) == (run_id, "queued", 2)
    assert 58.5 <= wait <= 59.5  # starts 60 s after the failure, not at a later sweep
    clock.advance(60)
    assert runs_sweep()["retried"] == 0 and broker_raw_messages() == []  # sent once


def test_a_later_retry_is_queued_by_the_last_sweep_before_it_falls_due(
    sqlite_source,
    memory_broker,
    clock,
    settings,
):
    settings.SYNC_SWEEP_INTERVAL_SECONDS = 60
    config = configure(sqlite_source, max_retries=3)
    SyncRun.objects.create(
        configuration=config, status="failed", attempt=2, finished_at=timezone.now()
    )  # its retry is due 120 s later

    early = runs_sweep()["retried"]
    clock.advance(59.9)
    still_early = runs_sweep()["retried"]
    clock.advance(0.2)  # 60.1 s after the failure: due within this sweep's interval
    due = runs_sweep()["retried"]
    [(_, wait)] = retries_sent(broker_raw_messages())

    assert early == 0 and still_early == 0 and due == 1
    assert 59.4 <= wait <= 60.4  # 120 s after the failure


def test_the_sweep_that_ends_a_silent_run_queues_its_retry_for_its_due_time(
    sqlite_source,
    memory_broker,
    clock,
    settings,
):
    """The case where every retry came 120 s after the failure instead of 60: the sweep that
    ends the run stamps finished_at with its own time, and the next sweep is a hair early."""
    settings.SYNC_SWEEP_INTERVAL_SECONDS = 60
    settings.SYNC_RUN_LEASE_SECONDS = 60
    config = configure(sqlite_source, max_retries=3)
    silent = SyncRun.objects.create(configuration=config, status="in_progress")
    SyncRun.objects.filter(pk=silent.pk).update(
        started_at=timezone.now() - timedelta(minutes=5),
        heartbeat_at=timezone.now() - timedelta(minutes=2),
    )

    ending = runs_sweep()
    ended_at = SyncRun.objects.get(pk=silent.pk).finished_at
    clock.advance(59.995)  # the next sweep, a few milliseconds early
    retrying = runs_sweep()
    [(_, wait)] = retries_sent(broker_raw_messages())

    assert ending["expired"] == 1
    assert ending["retried"] + retrying["retried"] == 1
    started_at = timezone.now() + timedelta(seconds=wait)
    assert abs((started_at - ended_at).total_seconds() - 60) < 0.5
