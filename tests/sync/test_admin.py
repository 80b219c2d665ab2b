"""Sync connections in the admin: secrets entered once, kept on edit, tested by an action."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from sync.connectors.factory import password_of
from sync.models import Connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    get_user_model().objects.create_superuser("boss", password="pw-12345678")
    client.login(username="boss", password="pw-12345678")
    return client


def form(**overrides):
    return {
        "name": "ERP",
        "kind": "sqlite",
        "host": "",
        "port": "",
        "database": "",
        "username": "",
        "password": "",
        "options": "{}",
        "base_url": "",
        "auth_type": "none",
        "credentials": "",
        "timeout_seconds": "15",
        **overrides,
    }


def test_adding_a_connection_encrypts_its_password_and_editing_keeps_it(admin_client, erp_sqlite):
    added = admin_client.post(
        "/admin/sync/connection/add/", form(database=str(erp_sqlite), password="hidden-pw-1")
    )
    connection = Connection.objects.get()
    edited = admin_client.post(
        f"/admin/sync/connection/{connection.pk}/change/",
        form(database=str(erp_sqlite), name="ERP 2"),
    )

    assert added.status_code == 302 and edited.status_code == 302
    connection.refresh_from_db()
    assert connection.name == "ERP 2" and password_of(connection) == "hidden-pw-1"
    page = admin_client.get(f"/admin/sync/connection/{connection.pk}/change/").content.decode()
    assert "hidden-pw-1" not in page and connection.password_encrypted not in page


def test_a_rest_connection_without_its_credentials_is_refused_next_to_the_field(admin_client):
    response = admin_client.post(
        "/admin/sync/connection/add/",
        form(kind="rest", base_url="https://plm.example/api/", auth_type="bearer"),
    )

    assert response.status_code == 200
    assert "needs: token" in response.content.decode()
    assert not Connection.objects.exists()


def test_the_test_action_reports_each_connection(admin_client, erp_sqlite):
    good = Connection.objects.create(name="file", kind="sqlite", database=str(erp_sqlite))
    bad = Connection.objects.create(
        name="down",
        kind="postgresql",
        host="127.0.0.1",
        port=9,
        database="x",
        username="u",
        timeout_seconds=2,
    )

    response = admin_client.post(
        "/admin/sync/connection/",
        {"action": "test_selected", "_selected_action": [good.pk, bad.pk]},
        follow=True,
    )

    page = response.content.decode()
    assert "File: OK" in page and "Down: FAILED" in page  # the admin capitalises messages


def test_a_configuration_with_an_unknown_column_is_refused_in_the_admin(admin_client, erp_sqlite):
    connection = Connection.objects.create(name="file", kind="sqlite", database=str(erp_sqlite))
    data = {
        "name": "ERP equipment",
        "description": "",
        "system_type": "erp",
        "system_name": "",
        "connection": connection.pk,
        "entity_type": "equipment",
        "sync_direction": "inbound",
        "sync_type": "full",
        "remote_object": "equipment",
        "remote_key": "equipment_id",
        "delta_field": "",
        "conflict_strategy": "log",
        "batch_size": "100",
        "timeout_seconds": "3600",
        "max_retries": "3",
        "schedule_type": "manual",
        "interval_minutes": "",
        "cron_expression": "",
        "enabled": "on",
        "field_mappings": '[{"local": "number", "remote": "equipment_no"}]',
    }

    refused = admin_client.post("/admin/sync/syncconfiguration/add/", data)
    saved = admin_client.post(
        "/admin/sync/syncconfiguration/add/", {**data, "remote_key": "equipment_no"}
    )

    assert refused.status_code == 200
    assert "has no column &#x27;equipment_id&#x27;" in refused.content.decode()
    assert saved.status_code == 302
    assert connection.configurations.get().remote_key == "equipment_no"


def test_run_now_in_the_admin_queues_a_run_and_the_run_log_shows_it(
    admin_client, erp_sqlite, django_capture_on_commit_callbacks
):
    from sync.models import SyncConfiguration, SyncRun
    from sync.tasks import execute_sync_run

    connection = Connection.objects.create(name="file", kind="sqlite", database=str(erp_sqlite))
    config = SyncConfiguration.objects.create(
        name="ERP equipment",
        system_type="ERP",
        connection=connection,
        entity_type="equipment",
        sync_type="full",
        remote_object="equipment",
        remote_key="equipment_no",
        field_mappings=[{"local": "name", "remote": "description"}],
    )

    with django_capture_on_commit_callbacks(execute=False):
        response = admin_client.post(
            "/admin/sync/syncconfiguration/",
            {"action": "run_now", "_selected_action": [config.pk]},
            follow=True,
        )
    run = SyncRun.objects.get()
    execute_sync_run(run.pk)
    log = admin_client.get(f"/admin/sync/syncrun/{run.pk}/change/")

    assert f"run {run.pk}</a> queued" in response.content.decode()
    assert log.status_code == 200 and "success" in log.content.decode().lower()


@pytest.mark.parametrize("role", ["Manager", "Auditor"])
def test_managers_and_auditors_see_connections_in_the_admin_but_cannot_add_change_or_delete(
    client, make_user, erp_sqlite, role
):
    connection = Connection.objects.create(name="file", kind="sqlite", database=str(erp_sqlite))
    user = make_user(f"staff-{role}", role=role)
    user.is_staff = True
    user.save()
    client.force_login(user)
    change = f"/admin/sync/connection/{connection.pk}/change/"

    listed = client.get("/admin/sync/connection/")
    viewed = client.get(change)
    answers = [
        client.get("/admin/sync/connection/add/"),
        client.post("/admin/sync/connection/add/", form(database=str(erp_sqlite), name="new")),
        client.post(change, form(database=str(erp_sqlite), name="renamed")),
        client.post(f"/admin/sync/connection/{connection.pk}/delete/", {"post": "yes"}),
        client.post(
            "/admin/sync/connection/",
            {"action": "test_selected", "_selected_action": [connection.pk]},
        ),
    ]

    assert listed.status_code == 200 and viewed.status_code == 200
    assert [a.status_code for a in answers[:4]] == [403, 403, 403, 403]
    assert "test_selected" not in listed.content.decode()  # the action is not offered…
    assert Connection.objects.get().name == "file" and Connection.objects.count() == 1
    assert Connection.objects.get().last_tested_at is None  # …nor carried out when posted


def test_the_connection_form_groups_fields_by_kind_and_never_shows_null(admin_client, erp_sqlite):
    connection = Connection.objects.create(name="file", kind="sqlite", database=str(erp_sqlite))

    added = admin_client.get("/admin/sync/connection/add/").content.decode()
    change = admin_client.get(f"/admin/sync/connection/{connection.pk}/change/").content.decode()

    for page in (added, change):
        assert 'class="module aligned connection-kind kind-sql"' in page
        assert 'class="module aligned connection-kind kind-rest"' in page
        assert "sync/connection_form.js" in page
        assert ">null</textarea>" not in page and 'value="null"' not in page


def test_the_test_button_connects_and_reports_on_the_change_page(admin_client, erp_sqlite):
    good = Connection.objects.create(name="file", kind="sqlite", database=str(erp_sqlite))
    bad = Connection.objects.create(
        name="down",
        kind="postgresql",
        host="127.0.0.1",
        port=9,
        database="x",
        username="u",
        timeout_seconds=2,
    )

    confirm = admin_client.get(f"/admin/sync/connection/{good.pk}/test/").content.decode()
    ok = admin_client.post(f"/admin/sync/connection/{good.pk}/test/", follow=True)
    failed = admin_client.post(f"/admin/sync/connection/{bad.pk}/test/", follow=True)

    assert "Connect to file (SQLite) now" in confirm
    assert "File: OK" in ok.content.decode()
    assert "Down: FAILED" in failed.content.decode()
    assert ok.redirect_chain[-1][0].endswith(f"/connection/{good.pk}/change/")
    bad.refresh_from_db()
    assert bad.last_test_ok is False and bad.last_tested_at is not None
