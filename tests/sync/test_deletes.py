"""Deleting connections and configurations goes through the services, from the REST API and
the admin alike: a connection that configurations use is refused with a 400 naming them, an
unused one is deleted, and a deleted configuration takes its schedule with it."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django_celery_beat.models import PeriodicTask

from sync.models import Connection, SyncConfiguration
from sync.services import configuration_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(erp_sqlite) -> Connection:
    return Connection.objects.create(name="ERP", kind="sqlite", database=str(erp_sqlite))


def configure(connection: Connection, name: str) -> SyncConfiguration:
    return configuration_create(
        name=name,
        system_type="erp",
        connection=connection,
        entity_type="equipment",
        sync_type="delta",
        remote_object="equipment",
        remote_key="equipment_no",
        delta_field="changed_at",
        field_mappings=[{"local": "name", "remote": "description"}],
        schedule_type="interval",
        interval_minutes=15,
    )


@pytest.fixture
def admin_client(client):
    get_user_model().objects.create_superuser("boss", password="pw-12345678")
    client.login(username="boss", password="pw-12345678")
    return client


def test_deleting_a_connection_that_configurations_use_is_a_400_naming_them(admin_api, connection):
    configure(connection, "ERP equipment")
    configure(connection, "ERP gauges")

    response = admin_api.delete(f"/api/sync/connections/{connection.pk}/")

    assert response.status_code == 400
    message = response.json()["errors"]["non_field_errors"][0]
    assert "'ERP equipment'" in message and "'ERP gauges'" in message
    assert "2 configurations" in message and "retry" not in message
    assert Connection.objects.filter(pk=connection.pk).exists()


def test_an_unused_connection_is_deleted_through_the_api(admin_api, connection):
    response = admin_api.delete(f"/api/sync/connections/{connection.pk}/")

    assert response.status_code == 204
    assert not Connection.objects.exists()


def test_the_admin_deletes_an_unused_connection_and_refuses_one_in_use(
    admin_client, connection, erp_sqlite
):
    spare = Connection.objects.create(name="Spare", kind="sqlite", database=str(erp_sqlite))
    configure(connection, "ERP equipment")

    deleted = admin_client.post(f"/admin/sync/connection/{spare.pk}/delete/", {"post": "yes"})
    refused = admin_client.post(
        "/admin/sync/connection/",
        {"action": "delete_selected", "_selected_action": [connection.pk], "post": "yes"},
    )

    assert deleted.status_code == 302 and not Connection.objects.filter(pk=spare.pk).exists()
    assert refused.status_code == 200
    assert "ERP equipment" in refused.content.decode()
    assert Connection.objects.filter(pk=connection.pk).exists()


def test_deleting_a_configuration_through_the_api_or_the_admin_removes_its_schedule(
    admin_api, admin_client, connection
):
    by_api = configure(connection, "ERP equipment")
    by_admin = configure(connection, "ERP gauges")
    assert PeriodicTask.objects.filter(task="sync.scheduled_run").count() == 2

    response = admin_api.delete(f"/api/sync/configurations/{by_api.pk}/")
    page = admin_client.post(
        f"/admin/sync/syncconfiguration/{by_admin.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 204 and page.status_code == 302
    assert not SyncConfiguration.objects.exists()
    assert not PeriodicTask.objects.filter(task="sync.scheduled_run").exists()
