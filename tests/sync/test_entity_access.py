"""A sync configuration moves the records of one QMS entity: configuring one, or previewing the
QMS rows it would send, takes the access to those records their own endpoints ask for (keys:
`<entity>:read` to send them out, `<entity>:write` to take them in; users: the view or change
permission). Found by the attack of issue 10: a `sync:manage` + `sync:read` key read every NCR
through the delta preview of an outbound configuration of its own."""

from __future__ import annotations

import sqlite3

import pytest
from rest_framework.test import APIClient

from apikeys.services import apikey_create
from quality import services as quality
from sync.models import Connection, SyncConfiguration

pytestmark = pytest.mark.django_db


def key_client(*scopes: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=apikey_create(name="k", scopes=list(scopes)).key)
    return client


@pytest.fixture
def connection(tmp_path) -> Connection:
    path = tmp_path / "erp.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE qms_ncrs (number TEXT PRIMARY KEY, title TEXT, description TEXT,"
            " changed_at TIMESTAMP)"
        )
    return Connection.objects.create(name="ERP", kind="sqlite", database=str(path))


def body(connection: Connection, direction: str, **changes) -> dict:
    return {
        "name": f"NCRs {direction}",
        "system_type": "erp",
        "connection": connection.pk,
        "entity_type": "ncr",
        "sync_direction": direction,
        "sync_type": "full",
        "remote_object": "qms_ncrs",
        "remote_key": "number",
        "field_mappings": [
            {"local": "title", "remote": "title"},
            {"local": "description", "remote": "description"},
        ],
        **changes,
    }


@pytest.mark.parametrize(
    ("direction", "needs"),
    [
        ("outbound", ["ncr:read"]),
        ("inbound", ["ncr:write"]),
        ("bidirectional", ["ncr:read", "ncr:write"]),
    ],
)
def test_a_sync_manage_key_configures_a_sync_only_of_records_it_may_read_or_write(
    connection, direction, needs
):
    refused = key_client("sync:manage", "sync:read").post(
        "/api/sync/configurations/", body(connection, direction), format="json"
    )
    allowed = key_client("sync:manage", *needs).post(
        "/api/sync/configurations/", body(connection, direction), format="json"
    )

    assert refused.status_code == 400, refused.json()
    message = refused.json()["errors"]["entity_type"][0]
    assert all(scope in message for scope in needs)
    assert allowed.status_code == 201, allowed.json()
    assert SyncConfiguration.objects.count() == 1


def test_the_delta_preview_of_an_outbound_sync_shows_qms_records_only_to_their_readers(
    admin_api, connection, settings
):
    settings.SYNC_LOCAL_SETTLE_SECONDS = 0
    quality.ncr_create(title="Crack in weld seam", description="confidential", severity="major")
    created = admin_api.post(
        "/api/sync/configurations/", body(connection, "outbound"), format="json"
    )
    assert created.status_code == 201, created.json()
    url = f"/api/sync/configurations/{created.json()['id']}/delta/"

    hidden = key_client("sync:read").get(url)
    shown = key_client("sync:read", "ncr:read").get(url)

    assert hidden.status_code == 403, hidden.json()
    assert "ncr:read" in hidden.json()["message"] and "Crack" not in str(hidden.json())
    assert shown.status_code == 200, shown.json()
    assert shown.json()["rows"][0]["values"]["title"] == "Crack in weld seam"


def test_a_key_cannot_turn_an_inbound_sync_it_may_write_into_one_that_sends_records_out(
    admin_api, connection
):
    created = admin_api.post(
        "/api/sync/configurations/", body(connection, "inbound"), format="json"
    )
    assert created.status_code == 201, created.json()
    writer = key_client("sync:manage", "ncr:write")
    url = f"/api/sync/configurations/{created.json()['id']}/"

    turned = writer.patch(url, {"sync_direction": "outbound"}, format="json")
    resized = writer.patch(url, {"batch_size": 50}, format="json")

    assert turned.status_code == 400 and "ncr:read" in str(turned.json())
    assert resized.status_code == 200, resized.json()
    assert SyncConfiguration.objects.get().sync_direction == "inbound"


def test_entities_without_a_model_of_their_own_take_the_records_scopes(connection):
    orders = body(
        connection,
        "inbound",
        entity_type="orders",
        field_mappings=[{"local": "title", "remote": "title"}],
    )

    refused = key_client("sync:manage").post("/api/sync/configurations/", orders, format="json")
    allowed = key_client("sync:manage", "records:write").post(
        "/api/sync/configurations/", orders, format="json"
    )

    assert refused.status_code == 400 and "records:write" in str(refused.json())
    assert allowed.status_code == 201, allowed.json()
