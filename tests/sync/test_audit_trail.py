"""Every change to sync settings leaves one audit event, written by the service that made it,
whatever the channel: connections (a password or credential only ever as "changed"),
configurations, schedules, conflict resolutions (with their reason) and runs; what a run
writes is attributed to the run."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from audit import context
from audit.models import AuditEvent
from quality.models import Equipment
from sync.models import Connection, SyncConfiguration, SyncConflict, SyncRecord, SyncRetry, SyncRun
from sync.services.runs import run_execute, run_start
from tests.sync.sources import SQLiteSource
from tests.sync.test_engine import T0, configure, rows, run

pytestmark = pytest.mark.django_db
PASSWORD = "pw-never-in-the-trail-1"
TOKEN = "tok-never-in-the-trail-2"


def events(object_type: str, action: str | None = None) -> list[AuditEvent]:
    found = AuditEvent.objects.filter(object_type=object_type).order_by("id")
    return list(found.filter(action=action) if action else found)


def only(object_type: str, action: str) -> AuditEvent:
    (event,) = events(object_type, action)
    return event


def as_text(event: AuditEvent) -> str:
    return json.dumps([event.changes, event.object_repr, event.reason])


@pytest.fixture
def admin_client(client):
    get_user_model().objects.create_superuser("boss", password="pw-12345678")
    client.login(username="boss", password="pw-12345678")
    return client


@pytest.fixture
def source(tmp_path) -> SQLiteSource:
    src = SQLiteSource(tmp_path)
    src.create()
    src.insert(rows(2))
    return src


def test_a_connection_created_through_the_api_says_its_password_was_set_never_what_it_is(
    admin_api, erp_sqlite
):
    response = admin_api.post(
        "/api/sync/connections/",
        {"name": "ERP", "kind": "sqlite", "database": str(erp_sqlite), "password": PASSWORD},
        format="json",
    )

    event = only("sync_connection", "created")
    assert response.status_code == 201
    assert (event.actor_type, event.actor_name, event.channel) == ("user", "user-Admin", "api")
    assert event.object_id == str(response.json()["id"]) and event.object_repr == "ERP"
    assert event.changes["name"] == [None, "ERP"]
    assert event.changes["password"] == [None, "[set]"]
    assert PASSWORD not in as_text(event)


def test_changing_a_rest_connections_credentials_in_the_admin_records_only_that_they_changed(
    admin_client, sync_test_systems
):
    connection = Connection.objects.create(
        name="ERP API", kind="rest", base_url="http://127.0.0.1:9/"
    )
    form = {
        "name": "ERP API v2",
        "kind": "rest",
        "host": "",
        "port": "",
        "database": "",
        "username": "",
        "password": "",
        "options": "{}",
        "base_url": "http://127.0.0.1:9/",
        "auth_type": "bearer",
        "credentials": json.dumps({"token": TOKEN}),
        "timeout_seconds": "15",
    }

    page = admin_client.post(f"/admin/sync/connection/{connection.pk}/change/", form)

    event = only("sync_connection", "updated")
    assert page.status_code == 302
    assert (event.actor_type, event.actor_name, event.channel) == ("user", "boss", "admin")
    assert event.changes["name"] == ["ERP API", "ERP API v2"]
    assert event.changes["auth_type"] == ["none", "bearer"]
    assert event.changes["credentials"] == [None, "[set]"]
    assert TOKEN not in as_text(event)
    history = admin_client.get(f"/admin/sync/connection/{connection.pk}/history/")
    shown = history.content.decode()
    assert "[set]" in shown and "bearer" in shown and TOKEN not in shown


def test_a_changed_password_is_changed_and_a_deleted_connection_is_deleted(admin_api, erp_sqlite):
    cid = admin_api.post(
        "/api/sync/connections/",
        {"name": "ERP", "kind": "sqlite", "database": str(erp_sqlite), "password": PASSWORD},
        format="json",
    ).json()["id"]

    admin_api.patch(f"/api/sync/connections/{cid}/", {"password": PASSWORD + "x"}, format="json")
    admin_api.delete(f"/api/sync/connections/{cid}/")

    updated, deleted = only("sync_connection", "updated"), only("sync_connection", "deleted")
    assert updated.changes == {"password": ["[secret]", "[changed]"]}
    assert deleted.channel == "api" and deleted.object_id == str(cid)
    assert deleted.changes["name"] == ["ERP", None]
    assert deleted.changes["password"] == ["[secret]", None]
    assert PASSWORD not in as_text(updated) + as_text(deleted)


def test_a_configuration_is_created_updated_and_deleted_through_the_api_with_its_schedule(
    admin_api, erp_sqlite
):
    connection = Connection.objects.create(name="ERP", kind="sqlite", database=str(erp_sqlite))
    body = {
        "name": "ERP equipment",
        "system_type": "erp",
        "connection": connection.pk,
        "entity_type": "equipment",
        "sync_type": "delta",
        "remote_object": "equipment",
        "remote_key": "equipment_no",
        "delta_field": "changed_at",
        "field_mappings": [{"local": "name", "remote": "description"}],
        "schedule_type": "interval",
        "interval_minutes": 15,
    }
    cid = admin_api.post("/api/sync/configurations/", body, format="json").json()["id"]

    admin_api.patch(
        f"/api/sync/configurations/{cid}/",
        {"batch_size": 50, "schedule_type": "cron", "cron_expression": "0 6 * * 1-5"},
        format="json",
    )
    admin_api.delete(f"/api/sync/configurations/{cid}/")

    created = only("sync_configuration", "created")
    assert (created.channel, created.actor_name) == ("api", "user-Admin")
    assert created.changes["connection"] == [None, connection.pk]
    assert created.changes["remote_object"] == [None, "equipment"]
    updated = only("sync_configuration", "updated")
    assert updated.changes["batch_size"] == [100, 50]
    assert updated.changes["schedule_type"] == ["interval", "cron"]
    assert only("sync_configuration", "deleted").changes["name"] == ["ERP equipment", None]
    schedule = events("sync_schedule")
    assert [e.action for e in schedule] == ["created", "updated", "deleted"]
    assert schedule[0].changes == {"schedule": [None, "every 15 minutes"], "enabled": [None, True]}
    assert schedule[1].changes["schedule"] == ["every 15 minutes", "0 6 * * 1-5 (UTC)"]
    assert schedule[2].changes["enabled"] == [True, None]


def test_disabling_and_enabling_a_configuration_in_the_admin_are_recorded_as_such(
    admin_client, source
):
    config = configure(source)

    for action in ("disable", "enable"):
        admin_client.post(
            "/admin/sync/syncconfiguration/", {"action": action, "_selected_action": [config.pk]}
        )

    disabled, enabled = (
        only("sync_configuration", "disabled"),
        only("sync_configuration", "enabled"),
    )
    assert disabled.changes == {"enabled": [True, False]} and disabled.channel == "admin"
    assert enabled.changes == {"enabled": [False, True]} and enabled.actor_name == "boss"
    page = admin_client.get(f"/admin/sync/syncconfiguration/{config.pk}/history/").content
    assert b"disabled" in page.lower() and b"enabled" in page.lower()


def conflicted(source) -> SyncConflict:
    config = configure(source, sync_direction="bidirectional", conflict_strategy="manual")
    run(config)
    source.update("EQ-00001", "ERP name", T0 + timedelta(days=1))
    equipment = Equipment.objects.get(number="EQ-00001")
    Equipment.objects.filter(pk=equipment.pk).update(name="QMS name", updated_at=timezone.now())
    run(config)
    return SyncConflict.objects.get(status="pending")


def test_a_conflict_is_resolved_only_with_a_reason_which_the_trail_keeps(
    admin_api, source, settings
):
    settings.SYNC_LOCAL_SETTLE_SECONDS = 0
    conflict = conflicted(source)
    url = f"/api/sync/conflicts/{conflict.pk}/resolve/"

    refused = admin_api.post(url, {"resolution": "target_wins"}, format="json")
    resolved = admin_api.post(
        url, {"resolution": "target_wins", "reason": "QMS naming is the standard."}, format="json"
    )

    assert refused.status_code == 400 and "reason" in refused.json()["errors"]
    assert resolved.status_code == 200
    event = only("sync_conflict", "resolved")
    assert (event.channel, event.actor_name) == ("api", "user-Admin")
    assert event.reason == "QMS naming is the standard."
    assert event.changes["status"] == ["pending", "resolved"]
    assert event.changes["resolution"] == ["", "target_wins"]
    assert event.object_repr == "ERP equipment: EQ-00001"


def test_runs_started_cancelled_and_retried_through_the_api_are_recorded(
    admin_api, source, django_capture_on_commit_callbacks
):
    config = configure(source)

    with django_capture_on_commit_callbacks(execute=False):
        run_id = admin_api.post(f"/api/sync/configurations/{config.pk}/execute/").json()["id"]
        admin_api.post(f"/api/sync/logs/{run_id}/cancel/")
        retry_id = admin_api.post(f"/api/sync/logs/{run_id}/retry/").json()["id"]

    started, cancelled = only("sync_run", "started"), only("sync_run", "cancelled")
    retried = only("sync_run", "retried")
    assert (started.object_id, started.channel, started.actor_name) == (
        str(run_id),
        "api",
        "user-Admin",
    )
    assert started.changes["status"] == [None, "queued"]
    assert started.changes["trigger"] == [None, "api"]
    assert cancelled.changes == {"status": ["queued", "cancelled"]}
    assert retried.object_id == str(retry_id)
    assert retried.changes["retry_of"] == [None, run_id]
    assert retried.changes["attempt"] == [None, 2]
    assert retried.object_repr == f"ERP equipment (run {retry_id})"


def test_what_a_run_does_is_done_as_the_run_through_the_sync_channel(source):
    """The QMS records a run writes name the run as their actor, through the sync channel."""
    config = configure(source)
    seen: list[context.Current] = []

    started = run_start(config=config, trigger="command")
    finished = run_execute(run=started, progress=lambda run, total: seen.append(context.current()))

    assert finished.status == SyncRun.Status.SUCCESS and seen
    assert {(c.actor.type, c.actor.id, c.channel) for c in seen} == {
        ("sync_run", str(started.pk), "sync")
    }
    assert seen[0].actor.name == f"ERP equipment (run {started.pk})"
    assert context.current().channel != "sync"  # the scope ends with the run
    assert SyncConfiguration.objects.get().pk == config.pk
    created = events("equipment", "created")
    assert len(created) == 2  # written by the quality services the engine calls
    assert {(e.actor_type, e.actor_id, e.channel) for e in created} == {
        ("sync_run", str(started.pk), "sync")
    }


def test_the_admin_deletes_an_ended_run_and_a_record_through_services_leaving_their_trail(
    admin_client, source
):
    config = configure(source, entity_type="inspections")
    ended = run(config)
    record = SyncRecord.objects.first()
    active = run_start(config=config)

    refused = admin_client.get(f"/admin/sync/syncrun/{active.pk}/delete/")
    gone = admin_client.post(f"/admin/sync/syncrun/{ended.pk}/delete/", {"post": "yes"})
    dropped = admin_client.post(f"/admin/sync/syncrecord/{record.pk}/delete/", {"post": "yes"})

    assert refused.status_code == 403 and SyncRun.objects.filter(pk=active.pk).exists()
    assert gone.status_code == 302 and not SyncRun.objects.filter(pk=ended.pk).exists()
    assert dropped.status_code == 302 and not SyncRecord.objects.filter(pk=record.pk).exists()
    deleted_run = only("sync_run", "deleted")
    assert (deleted_run.object_id, deleted_run.channel) == (str(ended.pk), "admin")
    assert deleted_run.changes["status"] == ["success", None]
    deleted_record = only("record", "deleted")
    assert deleted_record.object_repr == f"inspections {record.external_id}"
    assert deleted_record.changes["data"][0] == record.data


def test_a_retry_given_up_in_the_admin_is_deleted_through_a_service_leaving_its_trail(
    admin_client, source
):
    config = configure(source, entity_type="inspections")
    retry = SyncRetry.objects.create(
        configuration=config,
        side=SyncRetry.Side.INBOUND,
        external_id="R-17",
        message="status: not a valid choice",
        attempts=3,
    )

    dropped = admin_client.post(f"/admin/sync/syncretry/{retry.pk}/delete/", {"post": "yes"})

    assert dropped.status_code == 302 and not SyncRetry.objects.filter(pk=retry.pk).exists()
    deleted = only("sync_retry", "deleted")
    assert (deleted.object_id, deleted.channel, deleted.actor_name) == (
        str(retry.pk),
        "admin",
        "boss",
    )
    assert deleted.changes["message"] == ["status: not a valid choice", None]
    assert deleted.changes["attempts"] == [3, None]
