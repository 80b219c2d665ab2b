"""Inbound runs move real rows from SQLite, PostgreSQL and MariaDB tables into the QMS: full and
delta, keyset batches, idempotent, resumable, with failing rows isolated."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from quality.models import Equipment
from sync.models import Connection, SyncConfiguration, SyncRecord, SyncRun, SyncState
from sync.services import configuration_create
from sync.services.runs import run_execute, run_start
from tests.sync.sources import SQLiteSource

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 1, 8, 0, 0)
STATUS_MAP = {"type": "map", "values": {"A": "active", "M": "maintenance", "R": "retired"}}


def rows(count: int, *, start: int = 1, at: datetime = T0, same_time: bool = False) -> list[tuple]:
    return [
        (
            f"EQ-{n:05d}",
            f"Gauge {n}",
            "A",
            "2027-03-01",
            at if same_time else at + timedelta(minutes=n),
        )
        for n in range(start, start + count)
    ]


def configure(source, **overrides) -> SyncConfiguration:
    connection, _ = Connection.objects.get_or_create(
        name=f"ERP {source.kind}", defaults=source.connection_fields()
    )
    # trim acts on reads only, so an outbound configuration may not have it.
    trim = {} if overrides.get("sync_direction") == "outbound" else {"transform": "trim"}
    fields = {
        "name": "ERP equipment",
        "system_type": "ERP",
        "connection": connection,
        "entity_type": "equipment",
        "sync_type": "delta",
        "remote_object": source.table,
        "remote_key": "equipment_no",
        "delta_field": "changed_at",
        "batch_size": 3,
        "field_mappings": [
            {"local": "name", "remote": "description", **trim},
            {"local": "status", "remote": "status_code", "transform": STATUS_MAP},
            {"local": "calibration_due_date", "remote": "calibration", "transform": "date"},
        ],
        **overrides,
    }
    return configuration_create(**fields)


def run(config: SyncConfiguration, **kwargs) -> SyncRun:
    return run_execute(run=run_start(config=config, **kwargs))


def test_a_delta_run_brings_every_row_in_and_a_second_run_reads_nothing(source):
    source.insert(rows(10))
    config = configure(source)

    first = run(config)
    second = run(config)

    assert (first.status, first.processed, first.created) == ("success", 10, 10)
    assert (second.status, second.processed) == ("success", 0)
    eq = Equipment.objects.get(number="EQ-00007")
    assert (eq.name, eq.status, eq.calibration_due_date) == ("Gauge 7", "active", date(2027, 3, 1))
    assert Equipment.objects.count() == 10


def test_rows_sharing_a_timestamp_across_batch_edges_are_read_exactly_once(source):
    source.insert(rows(8, same_time=True))  # batches of 3: the edges fall inside one timestamp
    config = configure(source)

    result = run(config)
    source.insert(rows(2, start=9, same_time=True))  # later rows with that same time
    later = run(config)

    assert (result.processed, result.created) == (8, 8)
    assert (later.processed, later.created) == (2, 2)
    assert Equipment.objects.count() == 10


def test_a_changed_row_is_updated_and_unchanged_rows_are_left_alone(source):
    source.insert(rows(5))
    config = configure(source)
    run(config)
    untouched = Equipment.objects.get(number="EQ-00001").updated_at

    source.update("EQ-00003", "Gauge 3 (recalibrated)", T0 + timedelta(days=1))
    delta = run(config)
    full = run(config, full=True)

    assert (delta.processed, delta.updated) == (1, 1)
    assert Equipment.objects.get(number="EQ-00003").name == "Gauge 3 (recalibrated)"
    assert (full.processed, full.updated, full.skipped) == (5, 0, 5)
    assert Equipment.objects.get(number="EQ-00001").updated_at == untouched


def test_a_malformed_row_fails_alone_and_the_run_is_partial(source):
    source.insert([*rows(4), ("EQ-BAD", "Broken", "Z", "31/31/2027", T0 + timedelta(hours=1))])
    config = configure(source)

    result = run(config)

    assert (result.status, result.created, result.failed) == ("partial", 4, 1)
    error = result.row_errors.get()
    assert error.external_id == "EQ-BAD" and "status" in error.message
    assert not Equipment.objects.filter(number="EQ-BAD").exists()


def test_a_dry_run_reads_and_maps_but_writes_nothing(source):
    source.insert(rows(4))
    config = configure(source)

    result = run(config, dry_run=True)

    assert (result.status, result.processed, result.created) == ("success", 4, 4)
    assert not Equipment.objects.exists()
    assert SyncState.objects.get(configuration=config).cursor_value is None


def test_rows_of_entity_types_without_a_model_land_in_the_record_store(source):
    source.insert(rows(3))
    config = configure(
        source,
        entity_type="orders",
        field_mappings=[
            {"local": "text", "remote": "description"},
            {"local": "code", "remote": "status_code"},
        ],
    )

    run(config)

    record = SyncRecord.objects.get(external_id="EQ-00002")
    assert (record.entity_type, record.data) == ("orders", {"text": "Gauge 2", "code": "A"})


def test_a_source_that_cannot_be_reached_fails_the_run_with_a_clear_error(tmp_path):
    source = SQLiteSource(tmp_path)
    source.create()
    config = configure(source)
    Connection.objects.filter(pk=config.connection_id).update(
        kind="postgresql", host="127.0.0.1", port=9, database="x", timeout_seconds=2
    )
    config.refresh_from_db()

    result = run(config)

    assert result.status == "failed"
    assert "OperationalError" in result.error
    assert SyncRun.objects.get().finished_at is not None


def test_only_one_run_per_configuration_at_a_time_and_a_stale_one_times_out(tmp_path):
    source = SQLiteSource(tmp_path)
    source.create()
    config = configure(source)
    stuck = run_start(config=config)

    with pytest.raises(Exception, match="already running"):
        run_start(config=config)
    SyncRun.objects.filter(pk=stuck.pk).update(started_at=stuck.started_at - timedelta(hours=2))
    fresh = run_start(config=config)

    assert SyncRun.objects.get(pk=stuck.pk).status == "timeout"
    assert fresh.status == "in_progress"


def test_run_sync_shows_progress_and_a_summary_and_exits_by_outcome(tmp_path):
    source = SQLiteSource(tmp_path)
    source.create()
    source.insert(rows(7))
    configure(source)
    out = StringIO()

    call_command("run_sync", "ERP equipment", stdout=out)
    source.insert([("EQ-BAD", "Broken", "Z", "x", T0 + timedelta(days=2))])
    with pytest.raises(SystemExit) as partial:
        call_command("run_sync", "ERP equipment", stdout=StringIO())

    text = out.getvalue()
    assert "[##############################] 7/7 rows" in text
    assert "SUCCESS: 7 processed, 7 created" in text
    assert partial.value.code == 2
    with pytest.raises(CommandError, match="No sync configuration"):
        call_command("run_sync", "nope")


def test_inbound_ncrs_are_created_once_linked_by_external_id_and_closed_through_the_service(
    tmp_path,
):
    import sqlite3

    from quality.models import NCR

    path = tmp_path / "mes.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE mes_ncr (ncr_id INTEGER PRIMARY KEY, title TEXT, state TEXT)")
        db.executemany(
            "INSERT INTO mes_ncr VALUES (?, ?, ?)", [(1, "Burr", "O"), (2, "Crack", "C")]
        )
    connection = Connection.objects.create(name="MES", kind="sqlite", database=str(path))
    config = configuration_create(
        name="MES NCRs",
        system_type="MES",
        connection=connection,
        entity_type="ncr",
        sync_type="full",
        remote_object="mes_ncr",
        remote_key="ncr_id",
        field_mappings=[
            {"local": "title", "remote": "title"},
            {
                "local": "status",
                "remote": "state",
                "transform": {"type": "map", "values": {"O": "open", "C": "closed"}},
            },
        ],
    )

    first = run(config)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE mes_ncr SET state = 'C' WHERE ncr_id = 1")
    second = run(config)

    assert (first.created, second.updated, second.skipped) == (2, 1, 1)
    assert NCR.objects.count() == 2
    assert set(NCR.objects.values_list("status", flat=True)) == {"closed"}
    assert all(ncr.closed_at for ncr in NCR.objects.all())


def test_ncrs_brought_in_by_sync_publish_the_same_webhook_events(tmp_path, settings):
    import sqlite3

    from webhooks import services as webhooks
    from webhooks.models import WebhookEvent

    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    webhooks.subscription_create(
        name="ERP", url="http://127.0.0.1:9/hook", events=["ncr.created", "ncr.closed"]
    )
    path = tmp_path / "mes.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE mes_ncr (ncr_id INTEGER PRIMARY KEY, title TEXT, state TEXT)")
        db.execute("INSERT INTO mes_ncr VALUES (1, 'Burr', 'C')")
    connection = Connection.objects.create(name="MES", kind="sqlite", database=str(path))
    config = configuration_create(
        name="MES NCRs",
        system_type="MES",
        connection=connection,
        entity_type="ncr",
        sync_type="full",
        remote_object="mes_ncr",
        remote_key="ncr_id",
        field_mappings=[
            {"local": "title", "remote": "title"},
            {
                "local": "status",
                "remote": "state",
                "transform": {"type": "map", "values": {"O": "open", "C": "closed"}},
            },
        ],
    )

    run(config)

    assert list(WebhookEvent.objects.order_by("id").values_list("event_type", flat=True)) == [
        "ncr.created",
        "ncr.closed",
    ]


def test_a_source_whose_columns_changed_since_the_configuration_was_saved_fails_clearly(
    tmp_path,
):
    source = SQLiteSource(tmp_path)
    source.create()
    source.insert(rows(2))
    config = configure(source)
    with source.cursor() as cur:
        cur.execute(f"ALTER TABLE {source.table} RENAME COLUMN status_code TO state")

    result = run(config)

    assert result.status == "failed" and not Equipment.objects.exists()
    assert result.error.startswith("Configuration no longer matches the source:")
    assert "'status_code'" in result.error and "state" in result.error


def test_a_delta_after_a_full_run_reads_only_the_rows_changed_since_it(source):
    source.insert(rows(10))
    config = configure(source)

    full = run(config, full=True)
    idle = run(config)
    source.update("EQ-00004", "Gauge 4 (recalibrated)", T0 + timedelta(days=1))
    delta = run(config)

    assert (full.processed, full.created) == (10, 10)
    assert idle.processed == 0
    assert (delta.processed, delta.updated) == (1, 1)
    assert Equipment.objects.get(number="EQ-00004").name == "Gauge 4 (recalibrated)"


def test_a_row_that_failed_in_a_full_run_is_tried_again_by_the_next_delta(source):
    bad = ("EQ-BAD", "Broken", "Z", "2027-03-01", T0 + timedelta(hours=1))
    source.insert([*rows(4), bad])
    config = configure(source)

    full = run(config, full=True)
    with source.cursor() as cur:  # fixed at the source without a new change time
        cur.execute(f"UPDATE {source.table} SET status_code = 'A' WHERE equipment_no = 'EQ-BAD'")
    delta = run(config)

    assert (full.status, full.created, full.failed) == ("partial", 4, 1)
    assert (delta.status, delta.created, delta.failed) == ("success", 1, 0)
    assert Equipment.objects.get(number="EQ-BAD").status == "active"


def test_a_full_dry_run_leaves_the_delta_cursor_as_it_was(source):
    source.insert(rows(3))
    config = configure(source)

    result = run(config, full=True, dry_run=True)

    assert (result.processed, result.created) == (3, 3)
    assert SyncState.objects.get(configuration=config).cursor_value is None


def test_a_full_run_adopts_the_qms_rows_that_already_have_an_external_id_as_number(source):
    from sync.models import SyncLink

    by_hand = Equipment.objects.create(number="EQ-00002", name="Made by hand", status="active")
    source.insert(rows(4))
    config = configure(source)

    full = run(config, full=True)

    by_hand.refresh_from_db()
    assert (full.status, full.created, full.updated) == ("success", 3, 1)
    assert Equipment.objects.count() == 4 and by_hand.name == "Gauge 2"
    assert SyncLink.objects.get(configuration=config, external_id="EQ-00002").local_id == by_hand.pk
