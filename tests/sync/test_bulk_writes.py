"""What sync runs write a batch at a time: each record it creates, changes or retires leaves one
audit event (the run as actor, the sync channel, old -> new) in the batch's transaction; a row
that breaks a QMS rule fails alone with the words full_clean gives; links are written once per
batch; and on SQL Server the bulk statements stay within 1,000 rows per VALUES and 2,100
parameters (golden SQL, no server)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from audit.models import AuditEvent
from eqms_integration import bulk_sql
from quality.models import Equipment
from sync.models import SyncLink, SyncRecord
from tests.sync.sources import SQLiteSource
from tests.sync.test_engine import T0, configure, rows, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def erp(tmp_path) -> SQLiteSource:
    source = SQLiteSource(tmp_path)
    source.create()
    return source


def events(**filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


def test_a_run_audits_each_record_it_creates_as_the_run_through_the_sync_channel(erp):
    erp.insert(rows(7))
    config = configure(erp)

    result = run(config)

    created = events(object_type="equipment", action="created")
    assert result.created == 7 and len(created) == 7
    first = Equipment.objects.get(number="EQ-00001")
    event = next(e for e in created if e.object_id == str(first.pk))
    assert (event.actor_type, event.actor_id, event.channel) == ("sync_run", str(result.pk), "sync")
    assert event.actor_name == f"ERP equipment (run {result.pk})"
    assert event.object_repr == "EQ-00001"
    assert event.changes == {
        "calibration_due_date": [None, "2027-03-01"],
        "name": [None, "Gauge 1"],
        "number": [None, "EQ-00001"],
        "status": [None, "active"],
    }


def test_a_change_at_the_source_is_audited_old_to_new_and_an_unchanged_row_is_not(erp):
    erp.insert(rows(3))
    config = configure(erp)
    run(config)
    erp.update("EQ-00002", "Gauge 2, recalibrated", T0 + timedelta(days=1))

    result = run(config)

    updated = events(object_type="equipment", action="updated")
    assert (result.updated, len(updated)) == (1, 1)
    assert updated[0].object_repr == "EQ-00002"
    assert updated[0].changes == {"name": ["Gauge 2", "Gauge 2, recalibrated"]}
    assert updated[0].actor_id == str(result.pk)


def test_a_retirement_by_a_full_run_is_audited_as_retired(erp):
    erp.insert(rows(3))
    config = configure(erp, sync_type="full", apply_deletions=True)
    run(config)
    erp.delete("EQ-00003")

    result = run(config)

    (retired,) = events(object_type="equipment", action="retired")
    assert result.retired == 1
    assert (retired.object_type, retired.object_repr) == ("equipment", "EQ-00003")
    assert retired.changes == {"status": ["active", "retired"]}
    assert retired.actor_id == str(result.pk)


def test_records_of_the_record_store_are_audited_when_created_changed_and_retired(erp):
    erp.insert(rows(2))
    mappings = [{"local": "text", "remote": "description"}]
    config = configure(
        erp, entity_type="orders", sync_type="full", apply_deletions=True, field_mappings=mappings
    )
    run(config)
    erp.update("EQ-00001", "Gauge one", T0 + timedelta(days=1))
    erp.delete("EQ-00002")

    run(config)

    trail = [(e.action, e.object_repr, e.changes) for e in events(object_type="record")]
    assert trail == [
        ("created", "orders EQ-00001", {"text": [None, "Gauge 1"]}),
        ("created", "orders EQ-00002", {"text": [None, "Gauge 2"]}),
        ("updated", "orders EQ-00001", {"text": ["Gauge 1", "Gauge one"]}),
        ("retired", "orders EQ-00002", {"text": ["Gauge 2", None]}),
    ]
    assert not SyncRecord.objects.filter(external_id="EQ-00002").exists()


def test_a_row_that_breaks_a_rule_fails_alone_with_full_cleans_words_and_leaves_no_event(erp):
    too_long = "x" * 300
    erp.insert([*rows(2), ("EQ-00009", too_long, "A", "2027-03-01", T0)])
    config = configure(erp)

    result = run(config)

    assert (result.status, result.created, result.failed) == ("partial", 2, 1)
    error = result.row_errors.get()
    probe = Equipment(number="EQ-00009", name=too_long, status="active")
    with pytest.raises(ValidationError) as expected:
        probe.full_clean(validate_unique=False)
    assert error.external_id == "EQ-00009"
    assert error.message == "name: " + " ".join(expected.value.message_dict["name"])
    assert not Equipment.objects.filter(number="EQ-00009").exists()
    assert sorted(e.object_repr for e in events(object_type="equipment", action="created")) == [
        "EQ-00001",
        "EQ-00002",
    ]


def test_a_number_another_record_already_has_fails_that_row_alone(erp):
    Equipment.objects.create(number="N-2", name="Made by hand", status="active")
    erp.insert(
        [
            ("EQ-1", "A", "A", "N-1", T0),
            ("EQ-2", "B", "A", "N-1", T0),
            ("EQ-3", "C", "A", "N-3", T0),
        ]
    )
    mappings = [
        {"local": "name", "remote": "description"},
        {"local": "number", "remote": "calibration"},
    ]
    config = configure(erp, field_mappings=mappings)

    result = run(config)

    assert (result.created, result.failed) == (2, 1)
    error = result.row_errors.get()
    assert (error.external_id, error.message) == (
        "EQ-2",
        "number: equipment with this number already exists.",
    )
    assert set(Equipment.objects.values_list("number", flat=True)) == {"N-1", "N-2", "N-3"}


def test_a_full_run_writes_each_link_once_with_the_run_that_saw_it(erp):
    erp.insert(rows(5))
    config = configure(erp, sync_type="full")
    first = run(config)
    again = run(config)

    links = SyncLink.objects.filter(configuration=config)
    assert links.count() == 5
    assert set(links.values_list("last_seen_run", flat=True)) == {again.pk}
    assert (first.created, again.skipped, again.missing_at_source) == (5, 5, 0)


def test_a_new_link_built_for_a_batch_is_what_the_models_constructor_builds(erp):
    from sync.engine.links import new_link

    config = configure(erp)
    built, expected = (
        new_link(config.pk, "EQ-1"),
        SyncLink(configuration=config, external_id="EQ-1"),
    )

    for field in SyncLink._meta.concrete_fields:
        assert getattr(built, field.attname) == getattr(expected, field.attname), field.name
    assert built.configuration == config and built._state.adding and built.pk is None
    assert new_link(config.pk, "EQ-2").base_values is not built.base_values  # one dict each
    built.local_id = 7
    built.save()
    assert SyncLink.objects.get(pk=built.pk).external_id == "EQ-1"


def test_the_audit_of_bulk_records_can_be_switched_off_to_measure_it_and_check_warns(erp, settings):
    from django.core.management import call_command

    settings.SYNC_AUDIT_RECORDS = False
    erp.insert(rows(3))

    run(configure(erp))

    assert not AuditEvent.objects.filter(object_type="equipment").exists()
    from sync.checks import audit_of_sync_records

    assert [w.id for w in audit_of_sync_records()] == ["sync.W001"]
    call_command("check")  # a warning, not an error


# --- SQL Server, golden ---------------------------------------------------------------------
def test_sql_server_bulk_inserts_are_merges_of_at_most_a_thousand_rows_and_2000_parameters():
    rows_ = [[f"EQ-{n}", f"Gauge {n}"] for n in range(2500)]

    statements = bulk_sql.mssql_insert_statements(
        "[quality_equipment]", ["number", "name"], rows_, ["number"], [], ["id", "number"]
    )

    assert [len(params) for _, params in statements] == [2000, 2000, 1000]
    sql, params = statements[0]
    assert sql == (
        "MERGE INTO [quality_equipment] WITH (HOLDLOCK) AS t USING (VALUES "
        + ", ".join(["(%s, %s)"] * 1000)
        + ") AS s ([number], [name]) ON t.[number] = s.[number] WHEN NOT MATCHED THEN "
        "INSERT ([number], [name]) VALUES (s.[number], s.[name]) "
        "OUTPUT INSERTED.[id], INSERTED.[number];"
    )
    assert params[:4] == ["EQ-0", "Gauge 0", "EQ-1", "Gauge 1"]


def test_sql_server_upserts_of_wide_rows_stay_under_the_parameter_limit():
    columns = [f"c{n}" for n in range(9)]
    statements = bulk_sql.mssql_insert_statements(
        "[sync_synclink]", columns, [list(range(9))] * 1000, ["c0", "c1"], columns[2:], []
    )

    assert all(len(params) <= 2000 for _, params in statements)
    assert sum(len(params) for _, params in statements) == 9000
    sql = statements[0][0]
    assert (
        "ON t.[c0] = s.[c0] AND t.[c1] = s.[c1] WHEN MATCHED THEN UPDATE SET t.[c2] = s.[c2]" in sql
    )
    assert "OUTPUT" not in sql


def test_sql_server_bulk_updates_join_a_values_list_within_the_limits():
    statements = bulk_sql.mssql_update_statements(
        "[quality_equipment]", "id", ["name", "updated_at"], [[n, "x", None] for n in range(700)]
    )

    assert [len(params) for _, params in statements] == [1998, 102]
    assert statements[1][0] == (
        "UPDATE t SET t.[name] = s.[name], t.[updated_at] = s.[updated_at] FROM "
        "[quality_equipment] AS t JOIN (VALUES "
        + ", ".join(["(%s, %s, %s)"] * 34)
        + ") AS s ([id], [name], [updated_at]) ON t.[id] = s.[id];"
    )


def test_bulk_sql_writes_json_as_json_dumps_with_djangos_encoder_writes_it():
    import datetime as dt
    import json
    import uuid
    from decimal import Decimal

    from django.core.serializers.json import DjangoJSONEncoder

    text = bulk_sql.json_text(DjangoJSONEncoder)
    values = [
        {"name": [None, "Gauge 1"], "n": [1, 2.5], "text": 'Ä\u2028\x00"\\'},
        [1, {"b": 2, "a": [True, False, None]}, []],
        {"date": dt.date(2027, 1, 1), "decimal": Decimal("1.5"), "uuid": uuid.uuid4()},
        {1: "a key that is no string"},
        "text",
        5,
        float("nan"),
    ]
    for value in values:
        assert text(value) == json.dumps(value, cls=DjangoJSONEncoder), value
    assert text(None) is None


def test_bulk_sql_quotes_each_name_with_its_closing_quote_doubled_and_refuses_others():
    assert bulk_sql.quote("quality_equipment", "microsoft") == "[quality_equipment]"
    assert bulk_sql.quote("number", "postgresql") == '"number"'
    for bad in ["a]b", 'a"b', "a b", "", "t; DROP TABLE x", None]:
        with pytest.raises(ValueError):
            bulk_sql.quote(bad, "microsoft")


def test_bulk_sql_insert_and_update_write_through_the_services_database():
    from django.utils import timezone

    at = timezone.now()
    columns = [f.column for f in Equipment._meta.concrete_fields if not f.primary_key]
    columns = columns[2:] + columns[:2]  # created_at and updated_at last
    base = ["", "", "", "", "", "active", None, at, at]
    written = bulk_sql.insert(
        Equipment,
        columns,
        [["B-1", "One", *base], ["B-2", "Two", *base]],
        conflict=["number"],
        returning=["id", "number"],
    )
    again = bulk_sql.insert(
        Equipment, columns, [["B-2", "Again", *base]], conflict=["number"], returning=["id"]
    )
    ids = dict((n, pk) for pk, n in written)
    bulk_sql.update(Equipment, "id", ["name"], [[ids["B-1"], "Uno"]])

    assert again == []  # the number was taken: skipped, not overwritten
    assert dict(Equipment.objects.values_list("number", "name")) == {"B-1": "Uno", "B-2": "Two"}
    assert connection.vendor in ("sqlite", "postgresql")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_a_copy_stores_each_time_to_the_microsecond_whatever_its_zone_or_none():
    from datetime import UTC, datetime, timezone

    from django.utils import timezone as django_timezone

    columns = [f.column for f in Equipment._meta.concrete_fields if not f.primary_key]
    columns = columns[2:] + columns[:2]  # created_at and updated_at last
    times = [
        datetime(2026, 12, 1, 20, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=5, minutes=45))),
        datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=-3, seconds=30))),
    ]
    base = ["", "", "", "", "", "active", None]
    rows = [[f"T-{i}", "Timed", *base, at, at] for i, at in enumerate(times)]
    rows.append(["T-shared-a", "Shared", *base, times[0], times[1]])  # one object, two columns
    rows.append(["T-shared-b", "Shared", *base, times[0], times[1]])

    bulk_sql.copy_rows(Equipment, columns, rows)

    stored = {e.number: (e.created_at, e.updated_at) for e in Equipment.objects.all()}
    assert [stored[f"T-{i}"] for i in range(3)] == [(at, at) for at in times]
    assert stored["T-shared-a"] == stored["T-shared-b"] == (times[0], times[1])
    assert django_timezone.is_aware(stored["T-0"][0])


def test_a_row_for_a_closed_ncr_fails_alone_naming_it_and_is_not_tried_again(tmp_path):
    import sqlite3

    from quality.models import NCR
    from sync.models import Connection, SyncRetry
    from sync.services import configuration_create

    path = tmp_path / "mes.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE mes_ncr (ncr_id INTEGER PRIMARY KEY, title TEXT, state TEXT, seq INTEGER)"
        )
        db.executemany(
            "INSERT INTO mes_ncr VALUES (?, ?, ?, ?)", [(1, "Burr", "C", 1), (2, "Dent", "O", 2)]
        )
    connection = Connection.objects.create(name="MES", kind="sqlite", database=str(path))
    config = configuration_create(
        name="MES NCRs",
        system_type="MES",
        connection=connection,
        entity_type="ncr",
        sync_type="delta",
        remote_object="mes_ncr",
        remote_key="ncr_id",
        delta_field="seq",
        field_mappings=[
            {"local": "title", "remote": "title"},
            {
                "local": "status",
                "remote": "state",
                "transform": {"type": "map", "values": {"O": "open", "C": "closed"}},
            },
        ],
    )
    run(config)  # NCR 1 is created closed, NCR 2 open
    with sqlite3.connect(path) as db:
        db.execute("UPDATE mes_ncr SET title = title || ' (edited)', seq = seq + 10")

    result = run(config)
    later = run(config)

    closed = NCR.objects.get(title="Burr")
    assert (result.status, result.updated, result.failed) == ("partial", 1, 1)
    error = result.row_errors.get()
    assert error.external_id == "1" and closed.number in error.message
    assert "closed" in error.message
    assert NCR.objects.get(pk=closed.pk).title == "Burr"  # unchanged
    assert NCR.objects.filter(title="Dent (edited)").exists()  # the other row went through
    assert not SyncRetry.objects.filter(configuration=config).exists()  # it can never succeed
    assert later.failed == 0  # a delta run does not try it again


@pytest.mark.parametrize(
    "data",
    [
        {"number": "R-1", "name": "Gauge"},
        {"number": "R-1", "name": "x" * 255, "status": "retired"},
        {"number": "R-1", "name": "x" * 256},
        {"number": "R-1", "name": "Nul\x00in the middle"},
        {"number": "R-1", "name": ""},
        {"number": "R-1"},
        {"name": "No number"},
        {"number": "R-1", "name": "Gauge", "status": "lost"},
        {"number": "R-1", "name": "Gauge", "status": None},
        {"number": "R-1", "name": "Gauge", "location": "y" * 256},
        {"number": "R-1", "name": "Gauge", "calibration_due_date": None},
        {"number": "n" * 65, "name": "Gauge"},
    ],
)
def test_the_compiled_rules_never_pass_a_row_full_clean_refuses(data):
    from sync.engine.rules import rules_for

    probe = Equipment(**data)
    try:
        probe.full_clean(validate_unique=False)
        valid = True
    except ValidationError:
        valid = False

    passes = rules_for(Equipment).passes(data)

    assert passes == valid  # (for these kinds of value the shortcut decides them all)
