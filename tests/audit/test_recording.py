"""Recording events: in the caller's transaction, checked, JSON-safe, secrets never stored."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from audit import actors, services
from audit.changes import changes_between, field_values
from audit.context import audit_context
from audit.models import AuditEvent
from quality import services as quality
from webhooks.models import WebhookSubscription

pytestmark = pytest.mark.django_db


def test_an_event_is_rolled_back_with_the_change_it_records(record):
    with pytest.raises(RuntimeError), transaction.atomic():
        record(object_id=1)
        raise RuntimeError("the change failed")
    record(object_id=2)

    assert list(AuditEvent.objects.values_list("object_id", flat=True)) == ["2"]


def test_an_event_keeps_what_the_service_said_and_who_acted():
    with audit_context(actor=actors.system("nightly import"), channel="task", request_id="r-1"):
        event = services.event_record(
            action="closed",
            object_type="capa",
            object_id=42,
            object_repr="CAPA-2026-0042",
            changes={"status": ["open", "closed"]},
            reason="Verified effective",
        )

    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.action, stored.object_type, stored.object_id) == ("closed", "capa", "42")
    assert stored.object_repr == "CAPA-2026-0042" and stored.reason == "Verified effective"
    assert stored.changes == {"status": ["open", "closed"]}
    assert (stored.actor_type, stored.actor_name, stored.channel) == (
        "system",
        "nightly import",
        "task",
    )
    assert stored.request_id == "r-1"


def test_outside_any_scope_an_event_is_the_systems_through_the_command_channel(record):
    event = record(actor=None)

    assert (event.actor_type, event.actor_name, event.channel) == ("system", "system", "command")


def test_an_explicit_actor_and_channel_win_over_the_scope(record, make_user):
    alice = make_user("alice")
    with audit_context(actor=actors.system("outer"), channel="task"):
        event = record(actor=actors.user(alice), channel="admin")

    assert (event.actor_type, event.actor_id, event.actor_name) == ("user", str(alice.pk), "alice")
    assert event.channel == "admin"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"action": "frobnicated"}, "Unknown audit action"),
        ({"object_type": "spaceship"}, "Unknown audit object type"),
        ({"action": "updated", "changes": {}}, "needs changes"),
        ({"changes": {"title": "new"}}, r"must be \[old, new\]"),
        ({"object_id": ""}, "object_id must be"),
        ({"channel": "carrier-pigeon"}, "Unknown audit channel"),
    ],
)
def test_a_wrong_call_raises_instead_of_writing_a_wrong_event(record, fields, message):
    with pytest.raises(ValueError, match=message):
        record(**fields)

    assert not AuditEvent.objects.exists()


def test_an_actor_must_be_an_audit_actor_not_a_user_object(record, make_user):
    with pytest.raises(TypeError, match=r"audit\.actors\.Actor"):
        record(actor=make_user("bob"))


def test_values_are_stored_json_safe_and_secret_shaped_text_is_masked(record):
    key = "eqms_abcdefghijkl_" + "s" * 43
    event = record(
        action="updated",
        object_repr=f"pasted {key}",
        changes={
            "cost": [Decimal("1.50"), Decimal("2.75")],
            "due": [dt.date(2026, 1, 31), None],
            "notes": ["", f"secret whsec_{'A' * 32} pasted by mistake"],
        },
        reason=f"key {key}",
    )

    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.changes == {
        "cost": ["1.50", "2.75"],
        "due": ["2026-01-31", None],
        "notes": ["", "secret [redacted] pasted by mistake"],
    }
    assert key not in stored.object_repr and key not in stored.reason
    assert "[redacted]" in stored.object_repr


def test_a_long_object_repr_is_cut_to_its_column_rather_than_failing_the_change(record):
    event = record(object_repr="x" * 500)

    assert AuditEvent.objects.get(pk=event.pk).object_repr == "x" * 200


def test_a_malformed_client_address_is_dropped_not_allowed_to_fail_the_change(record):
    with audit_context(client_ip="1.2.3.4, <script>"):
        event = record()
    with audit_context(client_ip="2001:DB8::1"):
        v6 = record(object_id=2)

    assert AuditEvent.objects.get(pk=event.pk).client_ip is None
    assert AuditEvent.objects.get(pk=v6.pk).client_ip == "2001:db8::1"


def test_a_batch_of_a_thousand_events_is_one_insert_statement_on_postgresql(db):
    batch = [
        services.EventData("updated", "equipment", n, f"EQ-{n}", {"location": ["A", "B"]})
        for n in range(1000)
    ]
    traced: list[str] = []  # SQLite: the statements sqlite3 itself runs
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        connection.connection.set_trace_callback(traced.append)
    try:
        with CaptureQueriesContext(connection) as queries, audit_context(channel="sync"):
            events = services.events_record_many(batch, actor=actors.system("sync"))
    finally:
        if connection.vendor == "sqlite":
            connection.connection.set_trace_callback(None)

    inserts = [q["sql"] for q in queries if q["sql"].startswith("INSERT")]
    assert AuditEvent.objects.filter(channel="sync").count() == 1000
    assert len({e.occurred_at for e in events}) == 1
    assert [e.pk for e in events] == sorted({e.pk for e in events})  # ids in batch order
    if connection.vendor == "postgresql":
        # One COPY (eqms_integration.bulk_sql, on psycopg's own cursor, which Django's capture
        # does not see) after one SELECT drawing the ids: no INSERT per event.
        assert inserts == []
    else:  # SQLite: one INSERT per variable limit (32,766 since 3.32; 999 before), on
        # sqlite3's own cursor (Django's capture does not see it either)
        traced_inserts = [sql for sql in traced if sql.startswith("INSERT")]
        assert 1 <= len(traced_inserts) <= 1000 * 13 // 999 + 1


def test_a_bulk_writers_rows_store_the_same_columns_as_events_recorded_one_by_one(db):
    changes = {
        "name": [None, f"Gauge whsec_{'A' * 32}"],
        "due": [None, dt.date(2027, 1, 2)],
        "count": [1, Decimal("2.5")],
        3: ["x", None],
    }
    by_one = [
        services.event_record(
            action="created",
            object_type="equipment",
            object_id=7,
            object_repr=f"EQ-7 whsec_{'B' * 32}",
            changes=changes,
        ),
        services.event_record(
            action="updated",
            object_type="record",
            object_id="r-1",
            object_repr="r " + "x" * 300,
            changes={"a": [1, 2]},
            reason="why",
        ),
    ]
    with CaptureQueriesContext(connection) as queries:
        written = services.events_record_rows(
            [
                ("created", "equipment", 7, f"EQ-7 whsec_{'B' * 32}", changes, ""),
                ("updated", "record", "r-1", "r " + "x" * 300, {"a": [1, 2]}, "why"),
            ]
        )

    columns = [
        f.attname
        for f in AuditEvent._meta.concrete_fields
        if f.attname not in ("id", "occurred_at")
    ]
    stored = list(AuditEvent.objects.order_by("pk").values_list(*columns))
    assert written == 2
    assert (
        stored[2:]
        == stored[:2]
        == [
            tuple(getattr(e, c) for c in columns)
            for e in AuditEvent.objects.filter(pk__in=[e.pk for e in by_one]).order_by("pk")
        ]
    )
    assert "whsec_" not in str(stored)
    if connection.vendor == "postgresql":
        assert not [q for q in queries if q["sql"].startswith("INSERT")]  # one COPY


def test_a_bulk_writers_rows_are_checked_like_events(db):
    with pytest.raises(ValueError, match="starship"):
        services.events_record_rows(
            [("created", "supplier", 1, "S-1", None, ""), ("created", "starship", 2, "X", None, "")]
        )
    with pytest.raises(ValueError, match="needs changes"):
        services.events_record_rows([("updated", "supplier", 1, "S-1", {}, "")])
    with pytest.raises(ValueError, match="old, new"):
        services.events_record_rows([("created", "supplier", 1, "S-1", {"a": 1}, "")])
    with pytest.raises(ValueError, match="object_id"):
        services.events_record_rows([("created", "supplier", "", "S-1", None, "")])

    assert not AuditEvent.objects.exists()


def test_an_empty_batch_writes_nothing(db):
    assert services.events_record_many([]) == []
    assert not AuditEvent.objects.exists()


def test_a_batch_with_one_wrong_event_writes_none_of_them(db):
    batch = [
        services.EventData("created", "supplier", 1, "S-1"),
        services.EventData("created", "starship", 2, "X"),
    ]
    with pytest.raises(ValueError):
        services.events_record_many(batch)

    assert not AuditEvent.objects.exists()


def test_changes_between_lists_only_what_differs_as_json_safe_old_new_pairs():
    before = {"title": "A", "cost": Decimal("1.0"), "due": dt.date(2026, 1, 1), "same": 3}
    after = {"title": "B", "cost": Decimal("1.00"), "due": dt.date(2026, 2, 1), "same": 3}

    assert changes_between(before, after) == {
        "due": ["2026-01-01", "2026-02-01"],
        "title": ["A", "B"],
    }
    assert changes_between(before, dict(before)) == {}


def test_a_creation_lists_the_fields_that_have_a_value():
    assert changes_between({}, {"title": "A", "description": "", "owner": None}) == {
        "title": [None, "A"]
    }


def test_secret_fields_are_recorded_as_markers_never_as_values():
    secret = {"secret": "whsec_old"}
    changes = [
        changes_between({}, {"password": "hunter2"}, secret_fields=["password"]),
        changes_between(secret, {"secret": "whsec_new"}, secret_fields=["secret"]),
        changes_between(secret, {"secret": ""}, secret_fields=["secret"]),
        changes_between(secret, dict(secret), secret_fields=["secret"]),
    ]

    assert changes == [
        {"password": [None, "[set]"]},
        {"secret": ["[secret]", "[changed]"]},
        {"secret": ["[secret]", None]},
        {},
    ]


def test_field_values_snapshots_a_model_before_it_changes_for_the_update_event():
    ncr = quality.ncr_create(title="Weld crack", severity="minor")
    before = field_values(ncr, ["title", "severity", "detected_at"])
    ncr.title, ncr.severity = "Weld crack, bay 4", "major"

    changes = changes_between(before, field_values(ncr, ["title", "severity", "detected_at"]))

    assert changes == {
        "severity": ["minor", "major"],
        "title": ["Weld crack", "Weld crack, bay 4"],
    }


def test_field_values_gives_a_foreign_key_as_its_id_and_copies_json_values():
    ncr = quality.ncr_create(title="A")
    capa = quality.capa_create(title="Fix it", ncr=ncr)

    subscription = WebhookSubscription(events=["ncr.created"])

    before = field_values(subscription, ["events"])
    subscription.events.append("ncr.closed")

    assert field_values(capa, ["ncr"]) == {"ncr": ncr.pk}
    assert before == {"events": ["ncr.created"]}
    assert changes_between(before, field_values(subscription, ["events"])) == {
        "events": [["ncr.created"], ["ncr.created", "ncr.closed"]]
    }
