"""Conflicts through the REST API: listed per configuration, resolved each way with the chosen
values written to both sides, refused cleanly when the choice or the external side is bad."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from apikeys.services import apikey_create
from quality import services as quality
from quality.models import Equipment
from sync.models import Connection, SyncConflict, SyncLink
from tests.sync.sources import SQLiteSource
from tests.sync.test_engine import T0, configure, rows, run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_settling(settings) -> None:
    settings.SYNC_LOCAL_SETTLE_SECONDS = 0


@pytest.fixture
def source(tmp_path) -> SQLiteSource:
    src = SQLiteSource(tmp_path)
    src.create()
    src.insert(rows(2))
    return src


def conflicted(source, strategy: str = "manual"):
    """A two-way configuration whose EQ-00001 was renamed on both sides since the last run."""
    config = configure(source, sync_direction="bidirectional", conflict_strategy=strategy)
    run(config)
    source.update("EQ-00001", "ERP name", T0 + timedelta(days=1))
    quality.equipment_update(
        equipment=Equipment.objects.get(number="EQ-00001"),
        data={"name": "QMS name", "location": "Hall 2"},
    )
    run(config)
    return config, SyncConflict.objects.get()


def resolve(api, conflict, **body):
    if "notes" not in body:  # a resolution needs a reason (the audit trail keeps it)
        body.setdefault("reason", "checked with the ERP team")
    return api.post(f"/api/sync/conflicts/{conflict.pk}/resolve/", body, format="json")


def names(source) -> tuple[str, str]:
    return Equipment.objects.get(number="EQ-00001").name, source.all()["EQ-00001"][0]


def test_conflicts_are_listed_per_configuration_with_the_values_of_both_sides(admin_api, source):
    config, conflict = conflicted(source)

    pending = admin_api.get(f"/api/sync/configurations/{config.pk}/conflicts/?status=pending")
    resolved = admin_api.get(f"/api/sync/configurations/{config.pk}/conflicts/?status=resolved")
    wrong = admin_api.get(f"/api/sync/configurations/{config.pk}/conflicts/?status=open")
    status = admin_api.get(f"/api/sync/configurations/{config.pk}/status/").json()

    [row] = pending.json()["results"]
    assert (row["id"], row["external_id"], row["fields"]) == (conflict.pk, "EQ-00001", ["name"])
    assert (row["source_values"]["name"], row["target_values"]["name"]) == ("ERP name", "QMS name")
    assert row["base_values"]["name"] == "Gauge 1"
    assert resolved.json()["results"] == []
    assert wrong.status_code == 400 and "status" in wrong.json()["errors"]
    assert status["pending_conflicts"] == 1


def test_source_wins_writes_the_external_values_to_both_sides(client_for, source):
    config, conflict = conflicted(source)
    manager = client_for("Manager")

    response = resolve(manager, conflict, resolution="source_wins", notes="ERP is the master")
    after = run(config, full=True)

    body = response.json()
    assert response.status_code == 200, body
    assert (body["status"], body["resolution"], body["resolved_by"]) == (
        "resolved",
        "source_wins",
        "user-Manager",
    )
    assert "ERP is the master" in body["notes"]
    assert names(source) == ("ERP name", "ERP name")
    assert (after.conflicted, after.updated, after.created) == (0, 0, 0)


def test_target_wins_writes_the_qms_values_to_both_sides(admin_api, source):
    config, conflict = conflicted(source)

    response = resolve(admin_api, conflict, resolution="target_wins")
    after = run(config, full=True)

    assert response.status_code == 200
    assert names(source) == ("QMS name", "QMS name")
    assert SyncLink.objects.get(external_id="EQ-00001").base_values["name"] == "QMS name"
    assert (after.conflicted, after.updated) == (0, 0)


def test_a_custom_value_is_checked_and_written_to_both_sides(admin_api, source):
    _config, conflict = conflicted(source)

    unknown = resolve(
        admin_api, conflict, resolution="custom_value", resolved_value={"colour": "red"}
    )
    invalid = resolve(
        admin_api, conflict, resolution="custom_value", resolved_value={"status": "huge"}
    )
    missing = resolve(admin_api, conflict, resolution="custom_value")
    done = resolve(
        admin_api, conflict, resolution="custom_value", resolved_value={"name": "Agreed name"}
    )

    assert unknown.status_code == 400 and "colour" in unknown.json()["errors"]["resolved_value"][0]
    assert invalid.status_code == 400 and "status" in invalid.json()["errors"]
    assert missing.status_code == 400 and "resolved_value" in missing.json()["errors"]
    assert done.status_code == 200 and done.json()["resolved_value"]["name"] == "Agreed name"
    assert names(source) == ("Agreed name", "Agreed name")
    assert SyncConflict.objects.get().status == "resolved"


def test_ignoring_changes_nothing_and_a_decided_conflict_cannot_be_decided_again(admin_api, source):
    _, conflict = conflicted(source)

    ignored = resolve(admin_api, conflict, resolution="ignored")
    again = resolve(admin_api, conflict, resolution="source_wins")

    assert ignored.status_code == 200 and ignored.json()["status"] == "ignored"
    assert names(source) == ("QMS name", "ERP name")
    assert again.status_code == 400 and "already ignored" in str(again.json())


def test_a_conflict_the_log_strategy_settled_can_be_overruled_by_a_person(admin_api, source):
    _, conflict = conflicted(source, strategy="log")
    assert names(source) == ("ERP name", "ERP name")  # the source was applied and logged
    assert (conflict.status, conflict.resolved_automatically) == ("resolved", True)

    response = resolve(admin_api, conflict, resolution="target_wins")

    assert response.status_code == 200 and response.json()["resolved_automatically"] is False
    assert names(source) == ("QMS name", "QMS name")


def test_a_conflict_closed_because_both_sides_came_back_in_step_is_final(admin_api, source):
    config, conflict = conflicted(source)
    quality.equipment_update(
        equipment=Equipment.objects.get(number="EQ-00001"), data={"name": "ERP name"}
    )
    run(config, full=True)
    conflict.refresh_from_db()
    assert (conflict.status, conflict.resolved_automatically) == ("resolved", True)

    response = resolve(admin_api, conflict, resolution="target_wins")

    assert response.status_code == 400 and "already resolved" in str(response.json())
    assert names(source) == ("ERP name", "ERP name")  # the old QMS name is not written back


def test_an_unreachable_external_system_leaves_the_conflict_and_both_sides_untouched(
    admin_api, source
):
    config, conflict = conflicted(source)
    Connection.objects.filter(pk=config.connection_id).update(
        kind="postgresql", host="127.0.0.1", port=9, database="erp", timeout_seconds=2
    )

    response = resolve(admin_api, conflict, resolution="target_wins")

    assert response.status_code == 502
    assert response.json()["code"] == "remote_error"
    assert SyncConflict.objects.get().status == "pending"
    assert names(source) == ("QMS name", "ERP name")


def test_who_may_see_and_resolve_conflicts(client_for, source):
    _, conflict = conflicted(source)
    reader, executor = APIClient(), APIClient()
    reader.credentials(
        HTTP_X_API_KEY=apikey_create(name="r", scopes=["sync:read", "equipment:read"]).key
    )
    executor.credentials(
        HTTP_X_API_KEY=apikey_create(name="x", scopes=["sync:execute", "equipment:read"]).key
    )

    auditor = client_for("Auditor")
    assert auditor.get("/api/sync/conflicts/").status_code == 200
    assert resolve(auditor, conflict, resolution="ignored").status_code == 403
    assert reader.get(f"/api/sync/conflicts/{conflict.pk}/").status_code == 200
    refused = resolve(reader, conflict, resolution="ignored")
    assert refused.status_code == 403 and "sync:execute" in refused.json()["message"]
    assert resolve(executor, conflict, resolution="ignored").status_code == 200


def key(*scopes: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=apikey_create(name="k", scopes=list(scopes)).key)
    return client


def test_conflicts_show_a_records_values_only_to_keys_that_may_read_it(source):
    """Found by the attack of issue 10: sync:read alone listed both sides' values of records
    its key could not read, and sync:execute wrote values of its own choosing into them."""
    config, conflict = conflicted(source)
    blind, reader = key("sync:read"), key("sync:read", "equipment:read")

    hidden = [
        blind.get("/api/sync/conflicts/"),
        blind.get(f"/api/sync/conflicts/{conflict.pk}/"),
        blind.get(f"/api/sync/configurations/{config.pk}/conflicts/"),
    ]
    shown = reader.get("/api/sync/conflicts/").json()["results"]

    assert hidden[0].json()["results"] == [] and hidden[1].status_code == 404
    assert hidden[2].json()["results"] == [] and "ERP name" not in str([h.json() for h in hidden])
    assert [row["source_values"]["name"] for row in shown] == ["ERP name"]


def test_a_custom_value_takes_the_write_scope_of_the_record(source):
    _, conflict = conflicted(source)
    runner = key("sync:execute", "equipment:read")
    writer = key("sync:execute", "equipment:read", "equipment:write")

    refused = resolve(
        runner, conflict, resolution="custom_value", resolved_value={"name": "Chosen by a key"}
    )
    assert refused.status_code == 403 and "equipment:write" in refused.json()["message"]
    assert names(source) == ("QMS name", "ERP name")
    done = resolve(
        writer, conflict, resolution="custom_value", resolved_value={"name": "Agreed name"}
    )
    assert done.status_code == 200 and names(source) == ("Agreed name", "Agreed name")


def test_records_of_entity_types_without_a_model_are_readable_by_entity_type(client_for, source):
    configure(
        source, entity_type="orders", field_mappings=[{"local": "text", "remote": "description"}]
    )
    from sync.models import SyncConfiguration

    run(SyncConfiguration.objects.get())
    reader = APIClient()
    reader.credentials(HTTP_X_API_KEY=apikey_create(name="r", scopes=["records:read"]).key)

    orders = reader.get("/api/records/?entity_type=orders").json()
    none = client_for("Auditor").get("/api/records?entity_type=inventory").json()

    assert [(r["external_id"], r["data"]) for r in orders["results"]] == [
        ("EQ-00001", {"text": "Gauge 1"}),
        ("EQ-00002", {"text": "Gauge 2"}),
    ]
    assert none["results"] == []
