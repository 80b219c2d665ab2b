"""Outbound and bidirectional runs against real SQLite, PostgreSQL and MariaDB tables playing
the ERP: QMS rows are written out, changes on either side travel to the other, our own writes
never come back as changes, and a record changed on both sides is a conflict that each
strategy settles its own way."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from quality import services as quality
from quality.models import Equipment
from sync.engine import local
from sync.models import SyncConflict, SyncLink, SyncRecord, SyncRun
from tests.sync.sources import SQLiteSource
from tests.sync.test_engine import T0, configure, rows, run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_settling(settings) -> None:
    settings.SYNC_LOCAL_SETTLE_SECONDS = 0


def gauge(number: str, name: str, status: str = "active") -> Equipment:
    return quality.equipment_create(
        number=number, name=name, status=status, calibration_due_date=date(2027, 3, 1)
    )


def counts(result: SyncRun) -> tuple:
    return (
        result.status,
        result.processed,
        result.created,
        result.updated,
        result.skipped,
        result.failed,
        result.conflicted,
    )


def test_an_outbound_run_writes_qms_rows_out_and_then_only_what_changed(source):
    gauge("EQ-1", "Caliper")
    gauge("EQ-2", "Micrometer", status="maintenance")
    config = configure(source, sync_direction="outbound")

    first = run(config)
    second = run(config)
    quality.equipment_update(
        equipment=Equipment.objects.get(number="EQ-2"), data={"name": "Micrometer 0-25"}
    )
    third = run(config)

    assert counts(first) == ("success", 2, 2, 0, 0, 0, 0), first.error
    assert counts(second) == ("success", 0, 0, 0, 0, 0, 0)  # nothing changed since
    assert counts(third) == ("success", 1, 0, 1, 0, 0, 0)
    table = source.all()
    assert table["EQ-1"][:3] == ("Caliper", "A", "2027-03-01")  # the value map, inverted
    assert table["EQ-2"][:2] == ("Micrometer 0-25", "M")


def test_qms_rows_sharing_one_change_time_across_batches_are_each_written_out_once(source):
    for n in range(1, 8):
        gauge(f"EQ-{n}", f"Gauge {n}")
    Equipment.objects.update(updated_at=timezone.now() - timedelta(minutes=5))
    config = configure(source, sync_direction="outbound", batch_size=3)

    first = run(config)
    quality.equipment_update(equipment=Equipment.objects.get(number="EQ-4"), data={"name": "New"})
    second = run(config)

    assert counts(first) == ("success", 7, 7, 0, 0, 0, 0), first.error
    assert counts(second) == ("success", 1, 0, 1, 0, 0, 0)
    assert {k: v[0] for k, v in source.all().items()} == {
        **{f"EQ-{n}": f"Gauge {n}" for n in range(1, 8)},
        "EQ-4": "New",
    }


def test_record_store_rows_are_written_out_by_an_outbound_run(source):
    for number, text in (("EQ-1", "First"), ("EQ-2", "Second")):
        SyncRecord.objects.create(
            entity_type="orders", external_id=number, data={"text": text, "code": "A"}
        )
    mappings = [
        {"local": "text", "remote": "description"},
        {"local": "code", "remote": "status_code"},
    ]
    config = configure(
        source, sync_direction="outbound", entity_type="orders", field_mappings=mappings
    )

    result = run(config)

    assert counts(result) == ("success", 2, 2, 0, 0, 0, 0), result.error
    assert {k: v[:2] for k, v in source.all().items()} == {
        "EQ-1": ("First", "A"),
        "EQ-2": ("Second", "A"),
    }
    assert set(SyncLink.objects.values_list("external_id", flat=True)) == {"EQ-1", "EQ-2"}


def test_an_outbound_run_reading_more_rows_than_postgresql_knows_of_analyzes_the_table_first(
    tmp_path, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner statistics")
    monkeypatch.setattr(local, "ANALYZE_FROM_ROWS", 20)  # (10,000 rows otherwise)
    for n in range(1, 31):
        gauge(f"EQ-{n}", f"Gauge {n}")
    target = SQLiteSource(tmp_path)
    target.create()
    config = configure(target, sync_direction="outbound")

    def believed() -> float:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'quality_equipment'")
            return cursor.fetchone()[0]

    before = believed()
    result = run(config)

    assert counts(result) == ("success", 30, 30, 0, 0, 0, 0), result.error
    assert (before, believed()) == (-1, 30)  # never analyzed, then analyzed with its 30 rows
    assert len(target.all()) == 30


def test_a_full_outbound_run_repairs_rows_changed_or_deleted_at_the_target(source):
    gauge("EQ-1", "Caliper")
    gauge("EQ-2", "Micrometer")
    config = configure(source, sync_direction="outbound")
    run(config)
    source.update("EQ-1", "Tampered", T0)
    source.delete("EQ-2")

    repaired = run(config, full=True)

    assert counts(repaired) == ("success", 2, 1, 1, 0, 0, 0)
    assert {k: v[0] for k, v in source.all().items()} == {"EQ-1": "Caliper", "EQ-2": "Micrometer"}


def test_two_way_changes_travel_both_ways_and_our_own_writes_never_come_back(source):
    source.insert(rows(3))
    config = configure(source, sync_direction="bidirectional")
    first = run(config)
    gauge("EQ-LOCAL", "Made in the QMS")

    source.update("EQ-00001", "Changed at the source", T0 + timedelta(days=1))
    quality.equipment_update(
        equipment=Equipment.objects.get(number="EQ-00002"), data={"name": "Changed in the QMS"}
    )
    second = run(config)
    third = run(config, full=True)

    assert counts(first)[:3] == ("success", 3, 3)
    assert Equipment.objects.get(number="EQ-00001").name == "Changed at the source"
    table = source.all()
    assert table["EQ-00002"][0] == "Changed in the QMS"
    assert table["EQ-LOCAL"][:2] == ("Made in the QMS", "A")
    assert (second.created, second.updated, second.conflicted) == (1, 2, 0)
    assert (third.created, third.updated, third.failed, third.conflicted) == (0, 0, 0, 0)
    assert third.skipped == third.processed == 8  # 4 rows read there, 4 rows read here


def test_a_record_changed_on_both_sides_waits_for_a_person_under_the_manual_strategy(source):
    source.insert(rows(2))
    config = configure(source, sync_direction="bidirectional", conflict_strategy="manual")
    run(config)
    source.update("EQ-00001", "ERP name", T0 + timedelta(days=1))
    quality.equipment_update(
        equipment=Equipment.objects.get(number="EQ-00001"), data={"name": "QMS name"}
    )

    first = run(config)
    again = run(config, full=True)

    conflict = SyncConflict.objects.get()
    assert (first.conflicted, again.conflicted) == (1, 1)
    assert conflict.status == "pending" and conflict.fields == ["name"]
    assert conflict.source_values["name"] == "ERP name"
    assert conflict.target_values["name"] == "QMS name"
    assert conflict.base_values["name"] == "Gauge 1"
    assert conflict.run_id == again.pk  # refreshed, not duplicated
    assert Equipment.objects.get(number="EQ-00001").name == "QMS name"  # nobody overwritten
    assert source.all()["EQ-00001"][0] == "ERP name"


@pytest.mark.parametrize(
    ("strategy", "qms_name", "erp_name", "stored"),
    [
        ("source_wins", "ERP name", "ERP name", None),
        ("target_wins", "QMS name", "QMS name", None),
        ("log", "ERP name", "ERP name", "resolved"),
        ("skip", "QMS name", "ERP name", None),
    ],
)
def test_each_automatic_strategy_settles_a_conflict_its_own_way(
    tmp_path, strategy, qms_name, erp_name, stored
):
    source = SQLiteSource(tmp_path)
    source.create()
    source.insert(rows(1))
    config = configure(source, sync_direction="bidirectional", conflict_strategy=strategy)
    run(config)
    source.update("EQ-00001", "ERP name", T0 + timedelta(days=1))
    quality.equipment_update(
        equipment=Equipment.objects.get(number="EQ-00001"), data={"name": "QMS name"}
    )

    result = run(config)
    after = run(config, full=True)

    assert result.conflicted == 1
    assert Equipment.objects.get(number="EQ-00001").name == qms_name
    assert source.all()["EQ-00001"][0] == erp_name
    assert list(SyncConflict.objects.values_list("status", flat=True)) == (
        [stored] if stored else []
    )
    assert after.conflicted == (1 if strategy == "skip" else 0)


def test_newest_wins_compares_the_source_change_time_with_the_qms_change_time(tmp_path):
    source = SQLiteSource(tmp_path)
    source.create()
    source.insert(rows(2))
    config = configure(source, sync_direction="bidirectional", conflict_strategy="newest_wins")
    run(config)
    for number in ("EQ-00001", "EQ-00002"):
        quality.equipment_update(
            equipment=Equipment.objects.get(number=number), data={"name": "QMS name"}
        )
    now = datetime.now()  # the SQLite source keeps naive UTC-free times; the QMS runs in UTC
    source.update("EQ-00001", "older ERP name", now - timedelta(days=1))
    source.update("EQ-00002", "newer ERP name", now + timedelta(days=1))

    result = run(config)

    assert result.conflicted == 2
    assert Equipment.objects.get(number="EQ-00001").name == "QMS name"
    assert source.all()["EQ-00001"][0] == "QMS name"
    assert Equipment.objects.get(number="EQ-00002").name == "newer ERP name"


def test_a_conflict_resolved_by_either_side_no_longer_blocks_and_is_closed(tmp_path):
    source = SQLiteSource(tmp_path)
    source.create()
    source.insert(rows(1))
    config = configure(source, sync_direction="bidirectional", conflict_strategy="manual")
    run(config)
    source.update("EQ-00001", "Same fix", T0 + timedelta(days=1))
    quality.equipment_update(
        equipment=Equipment.objects.get(number="EQ-00001"), data={"name": "Other fix"}
    )
    run(config)
    quality.equipment_update(
        equipment=Equipment.objects.get(number="EQ-00001"), data={"name": "Same fix"}
    )

    later = run(config, full=True)

    conflict = SyncConflict.objects.get()
    assert later.conflicted == 0
    assert (conflict.status, conflict.resolved_automatically) == ("resolved", True)
    assert "back in step" in conflict.notes
    assert SyncLink.objects.get().base_values["name"] == "Same fix"


def test_a_row_the_external_database_refuses_fails_alone(tmp_path):
    source = SQLiteSource(tmp_path)
    with source.cursor() as cur:
        cur.execute(
            f"CREATE TABLE {source.table} (equipment_no varchar(32) PRIMARY KEY, "
            "description varchar(20) CHECK (length(description) <= 20), status_code varchar(4),"
            " calibration varchar(20), changed_at timestamp NULL)"
        )
    gauge("EQ-1", "Short")
    gauge("EQ-2", "A name far too long for the ERP column")
    gauge("EQ-3", "Also short")
    config = configure(source, sync_direction="outbound")

    result = run(config)

    assert counts(result) == ("partial", 3, 2, 0, 0, 1, 0)
    error = result.row_errors.get()
    assert error.external_id == "EQ-2" and "CHECK" in error.message.upper()
    assert set(source.all()) == {"EQ-1", "EQ-3"}
    assert run(config).failed == 1  # still refused next time: it is still not in step


def test_a_row_refused_in_a_batch_fails_alone_and_its_link_keeps_the_old_base(source):
    source.drop()
    with source.cursor() as cur:  # at most 20 characters, on every database
        cur.execute(
            f"CREATE TABLE {source.table} (equipment_no varchar(32) PRIMARY KEY, "
            "description varchar(200) CHECK (length(description) <= 20), status_code varchar(4),"
            " calibration varchar(20), changed_at timestamp NULL)"
        )
    for number in ("EQ-1", "EQ-2", "EQ-3"):
        gauge(number, f"Gauge {number}")
    config = configure(source, sync_direction="outbound")
    run(config)
    for number, name in (("EQ-1", "Renamed"), ("EQ-2", "A name far too long for the ERP")):
        quality.equipment_update(
            equipment=Equipment.objects.get(number=number), data={"name": name}
        )

    refused = run(config)
    equipment = Equipment.objects.get(number="EQ-2")
    quality.equipment_update(equipment=equipment, data={"name": "Short again"})
    repaired = run(config)

    assert counts(refused) == ("partial", 2, 0, 1, 0, 1, 0), refused.error
    assert refused.row_errors.get().external_id == "EQ-2"
    assert counts(repaired) == ("success", 1, 0, 1, 0, 0, 0)  # (its retry is settled with it)
    bases = {link.external_id: link.base_values["name"] for link in SyncLink.objects.all()}
    assert bases == {"EQ-1": "Renamed", "EQ-2": "Short again", "EQ-3": "Gauge EQ-3"}
    assert {k: v[0] for k, v in source.all().items()} == bases


def test_a_full_inbound_run_reports_rows_gone_from_the_source_and_retires_them_if_asked(
    tmp_path,
):
    source = SQLiteSource(tmp_path)
    source.create()
    source.insert(rows(4))
    config = configure(source, sync_type="full")
    run(config)
    source.delete("EQ-00002")
    source.delete("EQ-00003")

    reported = run(config)
    config.apply_deletions = True
    config.save()
    applied = run(config)
    again = run(config)

    assert (reported.missing_at_source, reported.retired) == (2, 0)
    assert (applied.missing_at_source, applied.retired) == (2, 2)
    assert again.retired == 0  # already retired
    assert dict(Equipment.objects.values_list("number", "status")) == {
        "EQ-00001": "active",
        "EQ-00002": "retired",
        "EQ-00003": "retired",
        "EQ-00004": "active",
    }


def test_record_store_rows_gone_from_the_source_are_deleted_when_asked(tmp_path):
    from sync.models import SyncRecord

    source = SQLiteSource(tmp_path)
    source.create()
    source.insert(rows(3))
    config = configure(
        source,
        entity_type="orders",
        sync_type="full",
        apply_deletions=True,
        field_mappings=[{"local": "text", "remote": "description"}],
    )
    run(config)
    source.delete("EQ-00003")

    result = run(config)

    assert (result.missing_at_source, result.retired) == (1, 1)
    assert sorted(SyncRecord.objects.values_list("external_id", flat=True)) == [
        "EQ-00001",
        "EQ-00002",
    ]
    assert SyncLink.objects.count() == 2


def test_deletions_are_only_applied_by_inbound_configurations(tmp_path):
    from django.core.exceptions import ValidationError

    source = SQLiteSource(tmp_path)
    source.create()

    with pytest.raises(ValidationError) as refused:
        configure(source, sync_direction="bidirectional", apply_deletions=True)

    assert "apply_deletions" in refused.value.message_dict


def test_a_qms_number_the_external_key_column_cannot_hold_fails_alone(tmp_path):
    source = SQLiteSource(tmp_path)
    with source.cursor() as cur:
        cur.execute(
            f"CREATE TABLE {source.table} (equipment_no integer PRIMARY KEY, "
            "description varchar(200), status_code varchar(4), calibration varchar(20), "
            "changed_at timestamp NULL)"
        )
    gauge("42", "Numbered")
    gauge("EQ-7", "Lettered")
    config = configure(source, sync_direction="outbound")

    result = run(config)
    again = run(config)

    assert counts(result) == ("partial", 2, 1, 0, 0, 1, 0)
    error = result.row_errors.get()
    assert error.external_id == "EQ-7" and "'equipment_no' can hold" in error.message
    assert set(source.all()) == {42}
    assert (again.status, again.failed) == ("partial", 1)  # still refused, the run goes on


def test_writing_needs_a_key_the_external_table_keeps_unique(tmp_path):
    from django.core.exceptions import ValidationError

    source = SQLiteSource(tmp_path)
    with source.cursor() as cur:
        cur.execute(
            f"CREATE TABLE {source.table} (equipment_no varchar(32), description varchar(200),"
            " status_code varchar(4), calibration varchar(20), changed_at timestamp NULL)"
        )

    with pytest.raises(ValidationError) as refused:
        configure(source, sync_direction="outbound")

    assert "primary key" in refused.value.message_dict["remote_key"][0]
    assert configure(source).sync_direction == "inbound"  # reading needs no such thing


def test_the_default_schema_of_a_connection_is_where_rows_are_read_and_written(erp_postgres):
    import psycopg

    from quality.models import Supplier
    from sync.models import Connection
    from sync.services import configuration_create

    schema = erp_postgres["schema"]
    params = {k: v for k, v in erp_postgres.items() if k != "schema"}
    with psycopg.connect(**params, autocommit=True) as db:
        db.execute(f'INSERT INTO "{schema}".suppliers VALUES (7, %s, %s)', ("Acme", T0))
    connection = Connection.objects.create(
        name="ERP pg",
        kind="postgresql",
        host=params["host"],
        port=params["port"],
        database=params["dbname"],
        username=params["user"],
        options={"schema": schema},
    )
    config = configuration_create(
        name="Vendors",
        system_type="ERP",
        connection=connection,
        entity_type="suppliers",
        sync_direction="bidirectional",
        sync_type="full",
        remote_object="suppliers",
        remote_key="vendor_id",
        field_mappings=[{"local": "name", "remote": "vendor_name"}],
    )
    quality.supplier_create(number="42", name="Made in the QMS")

    result = run(config)

    assert (result.status, result.created) == ("success", 2)
    assert Supplier.objects.get(number="7").name == "Acme"
    with psycopg.connect(**params) as db:
        names = db.execute(f'SELECT vendor_id, vendor_name FROM "{schema}".suppliers').fetchall()
    assert sorted(names) == [(7, "Acme"), (42, "Made in the QMS")]


def test_a_row_that_fails_is_still_at_the_source_and_is_not_retired(tmp_path):
    source = SQLiteSource(tmp_path)
    source.create()
    source.insert(rows(3))
    config = configure(source, sync_type="full", apply_deletions=True)
    run(config)
    with source.cursor() as cur:
        cur.execute(f"UPDATE {source.table} SET status_code = 'Z' WHERE equipment_no = 'EQ-00002'")

    result = run(config)

    assert (result.status, result.failed, result.missing_at_source, result.retired) == (
        "partial",
        1,
        0,
        0,
    )
    assert Equipment.objects.get(number="EQ-00002").status == "active"


def test_a_logged_decision_that_cannot_be_applied_is_left_pending_with_the_reason(tmp_path):
    source = SQLiteSource(tmp_path)  # SQLite keeps a name longer than the QMS allows
    source.create()
    source.insert(rows(1))
    config = configure(source, sync_direction="bidirectional", conflict_strategy="log")
    run(config)
    source.update("EQ-00001", "N" * 300, T0 + timedelta(days=1))
    quality.equipment_update(
        equipment=Equipment.objects.get(number="EQ-00001"), data={"name": "QMS name"}
    )

    result = run(config)

    conflict = SyncConflict.objects.get()
    assert (result.status, result.conflicted, result.failed) == ("partial", 1, 1)
    assert (conflict.status, conflict.resolved_automatically) == ("pending", False)
    assert "could not apply the source" in conflict.notes and "name" in conflict.notes
    assert Equipment.objects.get(number="EQ-00001").name == "QMS name"
