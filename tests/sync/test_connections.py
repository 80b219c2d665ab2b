"""Sync connections: stored with encrypted secrets, tested for real, described from the
database's own catalogue, with clear errors that never echo credentials."""

from __future__ import annotations

import json
import sqlite3
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from sync.models import Connection

pytestmark = pytest.mark.django_db


def create(api, **body):
    return api.post("/api/sync/connections/", body, format="json")


def test_a_sqlite_connection_is_tested_and_describes_a_table(admin_api, erp_sqlite):
    created = create(admin_api, name="ERP file", kind="sqlite", database=str(erp_sqlite))
    cid = created.json()["id"]

    tested = admin_api.post(f"/api/sync/connections/{cid}/test/")
    described = admin_api.get(f"/api/sync/connections/{cid}/describe/?object=equipment")

    assert created.status_code == 201, created.json()
    assert tested.json()["ok"] is True and tested.json()["message"].startswith("SQLite ")
    assert [c["name"] for c in described.json()] == ["equipment_no", "description", "changed_at"]
    stored = Connection.objects.get(pk=cid)
    assert stored.last_test_ok is True and stored.last_tested_at is not None


@pytest.mark.parametrize(
    "name", ["missing_table", "equipment; DROP TABLE secret_table", "equipment--", "a.b.c", "x'y"]
)
def test_describing_a_name_that_does_not_exist_or_looks_like_sql_is_a_400(
    admin_api, erp_sqlite, name
):
    cid = create(admin_api, name="ERP", kind="sqlite", database=str(erp_sqlite)).json()["id"]

    response = admin_api.get(f"/api/sync/connections/{cid}/describe/", {"object": name})

    assert response.status_code == 400
    assert "object" in response.json()["errors"]
    with sqlite3.connect(erp_sqlite) as db:
        assert db.execute("SELECT count(*) FROM secret_table").fetchone() == (0,)


def test_a_postgresql_connection_describes_a_schema_qualified_table(admin_api, erp_postgres):
    cid = create(
        admin_api,
        name="PG ERP",
        kind="postgresql",
        host=erp_postgres["host"],
        port=erp_postgres["port"],
        database=erp_postgres["dbname"],
        username=erp_postgres["user"],
        password="",
    ).json()["id"]

    tested = admin_api.post(f"/api/sync/connections/{cid}/test").json()
    columns = admin_api.get(
        f"/api/sync/connections/{cid}/describe", {"object": f"{erp_postgres['schema']}.suppliers"}
    ).json()

    assert tested["ok"] is True and tested["message"].startswith("PostgreSQL")
    assert [(c["name"], c["nullable"]) for c in columns] == [
        ("vendor_id", False),
        ("vendor_name", False),
        ("updated", True),
    ]


def test_a_mariadb_connection_is_tested_and_described(admin_api, erp_mariadb):
    cid = create(
        admin_api,
        name="MES",
        kind="mysql",
        host=erp_mariadb["host"],
        port=erp_mariadb["port"],
        database=erp_mariadb["database"],
        username=erp_mariadb["user"],
    ).json()["id"]

    tested = admin_api.post(f"/api/sync/connections/{cid}/test/").json()
    columns = admin_api.get(
        f"/api/sync/connections/{cid}/describe/", {"object": erp_mariadb["table"]}
    ).json()

    assert tested["ok"] is True and "MariaDB" in tested["message"]
    assert [c["name"] for c in columns] == ["order_no", "qty"]


def test_a_refused_login_is_reported_without_echoing_the_password(admin_api, erp_mariadb):
    cid = create(
        admin_api,
        name="MES",
        kind="mysql",
        host="127.0.0.1",
        port=3306,
        database="test",
        username="root",
        password="wr0ng-Passw0rd-xyz",
    ).json()["id"]

    result = admin_api.post(f"/api/sync/connections/{cid}/test/").json()

    assert result["ok"] is False
    assert "Access denied" in result["message"]
    assert "wr0ng-Passw0rd-xyz" not in str(result)
    assert "wr0ng-Passw0rd-xyz" not in Connection.objects.get(pk=cid).last_test_message


def test_an_unreachable_server_is_a_clear_failure_not_an_error(admin_api):
    cid = create(
        admin_api,
        name="Down",
        kind="postgresql",
        host="127.0.0.1",
        port=9,
        database="erp",
        username="sync",
        password="pw-123456",
        timeout_seconds=3,
    ).json()["id"]

    response = admin_api.post(f"/api/sync/connections/{cid}/test/")

    assert response.status_code == 200
    assert response.json()["ok"] is False
    assert "OperationalError" in response.json()["message"]


def test_passwords_are_write_only_and_encrypted_at_rest(admin_api, erp_sqlite):
    created = create(
        admin_api,
        name="ERP",
        kind="postgresql",
        host="db.example",
        database="erp",
        username="sync",
        password="p4ssw0rd-at-rest",
    ).json()

    detail = admin_api.get(f"/api/sync/connections/{created['id']}/").json()
    row = Connection.objects.filter(pk=created["id"]).values().get()

    assert "password" not in created and "password" not in detail
    assert detail["has_password"] is True
    assert "p4ssw0rd-at-rest" not in str(row)
    kept = admin_api.patch(
        f"/api/sync/connections/{created['id']}/", {"host": "db2"}, format="json"
    )
    assert kept.json()["has_password"] is True


def test_a_rest_connection_authenticates_with_its_bearer_token(admin_api, erp_rest):
    good = create(
        admin_api,
        name="PLM",
        kind="rest",
        base_url=erp_rest["base_url"],
        auth_type="bearer",
        credentials={"token": erp_rest["token"]},
    ).json()
    bad = create(
        admin_api,
        name="PLM bad",
        kind="rest",
        base_url=erp_rest["base_url"],
        auth_type="bearer",
        credentials={"token": "not-the-right-token"},
    ).json()

    ok = admin_api.post(f"/api/sync/connections/{good['id']}/test/").json()
    refused = admin_api.post(f"/api/sync/connections/{bad['id']}/test/").json()

    assert ok["ok"] is True and "HTTP 200" in ok["message"]
    assert refused["ok"] is False and "credentials were refused" in refused["message"]
    assert "not-the-right-token" not in str(refused) and "credentials" not in good


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "rest", "auth_type": "bearer", "base_url": "http://erp.example/"}, "credentials"),
        (
            {
                "kind": "rest",
                "auth_type": "basic",
                "base_url": "http://e.example/",
                "credentials": {"username": "u"},
            },
            "credentials",
        ),
        ({"kind": "rest"}, "base_url"),
        ({"kind": "postgresql", "database": "erp"}, "host"),
        ({"kind": "sqlite"}, "database"),
        ({"kind": "oracle"}, "kind"),
        ({"kind": "sqlite", "database": "x", "timeout_seconds": 0}, "timeout_seconds"),
    ],
)
def test_incomplete_connections_get_a_400_naming_the_field(admin_api, body, field):
    response = create(admin_api, name="X", **body)

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Connection.objects.exists()


def test_managers_and_auditors_read_connections_but_only_admins_change_or_test(client_for):
    connection = Connection.objects.create(name="ERP", kind="sqlite", database="erp.sqlite3")
    for role in ("Manager", "Auditor"):
        client = client_for(role)
        assert client.get("/api/sync/connections/").status_code == 200
        assert client.post(f"/api/sync/connections/{connection.pk}/test/").status_code == 403
        assert create(client, name="Y", kind="sqlite", database="mes.sqlite3").status_code == 403


def key_client(*scopes: str):
    from rest_framework.test import APIClient

    from apikeys.services import apikey_create

    client = APIClient()
    client.credentials(HTTP_X_API_KEY=apikey_create(name="k", scopes=list(scopes)).key)
    return client


def test_api_keys_read_connections_with_sync_read(erp_sqlite):
    connection = Connection.objects.create(name="ERP", kind="sqlite", database=str(erp_sqlite))
    reader = key_client("sync:read")

    assert reader.get("/api/sync/connections/").json()["count"] == 1
    assert reader.get(f"/api/sync/connections/{connection.pk}/").status_code == 200
    described = reader.get(f"/api/sync/connections/{connection.pk}/describe/?object=equipment")
    assert described.status_code == 200 and described.json()[0]["name"] == "equipment_no"


@pytest.mark.parametrize("scopes", [("sync:read", "sync:manage"), ("*",)])
def test_no_api_key_creates_changes_deletes_or_tests_a_connection_whatever_its_scopes(
    erp_sqlite, scopes
):
    connection = Connection.objects.create(name="ERP", kind="sqlite", database=str(erp_sqlite))
    key = key_client(*scopes)
    url = f"/api/sync/connections/{connection.pk}/"

    answers = [
        create(key, name="X", kind="sqlite", database=str(erp_sqlite)),
        key.put(url, {"name": "ERP", "kind": "sqlite", "database": str(erp_sqlite)}, format="json"),
        key.patch(url, {"timeout_seconds": 20}, format="json"),
        key.delete(url),
        key.post(f"{url}test/"),
    ]

    for answer in answers:
        assert answer.status_code == 403
        assert answer.json() == {
            "code": "permission_denied",
            "errors": {},
            "message": "API keys cannot use this endpoint.",
        }
    assert Connection.objects.get().timeout_seconds == 15 and Connection.objects.count() == 1
    assert Connection.objects.get().last_tested_at is None


def test_a_sync_key_cannot_aim_the_service_at_its_own_database(settings):
    """The attack of issue 10: a sync:manage key made a SQLite connection on the service's own
    database file, a configuration on django_session, and read live sessions via delta."""
    settings.SYNC_SQLITE_DIRS = [str(settings.VAR_DIR)]
    key = key_client("sync:read", "sync:manage")

    response = create(key, name="own", kind="sqlite", database=str(settings.VAR_DIR / "db.sqlite3"))

    assert response.status_code == 403
    assert not Connection.objects.exists()


def test_a_sync_manage_key_still_manages_configurations_on_existing_connections(erp_sqlite):
    connection = Connection.objects.create(name="ERP", kind="sqlite", database=str(erp_sqlite))
    key = key_client("sync:read", "sync:manage", "equipment:write")  # inbound writes equipment

    created = key.post(
        "/api/sync/configurations/",
        {
            "name": "ERP equipment",
            "system_type": "ERP",
            "connection": connection.pk,
            "entity_type": "equipment",
            "sync_direction": "inbound",
            "sync_type": "full",
            "remote_object": "equipment",
            "remote_key": "equipment_no",
            "field_mappings": [{"local": "name", "remote": "description"}],
        },
        format="json",
    )

    assert created.status_code == 201, created.json()
    changed = key.patch(
        f"/api/sync/configurations/{created.json()['id']}/", {"batch_size": 50}, format="json"
    )
    assert changed.status_code == 200


def test_the_test_command_reports_success_and_fails_with_the_reason(erp_sqlite):
    good = Connection.objects.create(name="file", kind="sqlite", database=str(erp_sqlite))
    Connection.objects.create(
        name="down",
        kind="postgresql",
        host="127.0.0.1",
        port=9,
        database="x",
        username="u",
        timeout_seconds=2,
    )
    out = StringIO()

    call_command("test_sync_connection", str(good.pk), stdout=out)

    assert "file: OK" in out.getvalue()
    with pytest.raises(CommandError, match="down: FAILED"):
        call_command("test_sync_connection", "down")


@pytest.mark.parametrize(
    ("auth_type", "credentials", "reason"),
    [
        ("bearer", {"token": "tök☃"}, "token holds characters HTTP headers cannot carry"),
        ("bearer", {"token": "tok\r\nX-Admin: 1"}, "token holds a control character"),
        ("bearer", {"token": "tok\x01"}, "token holds a control character"),
        ("bearer", {"token": " tok"}, "token starts or ends with a space"),
        ("bearer", {"token": ["tok"]}, "token must be text"),
        ("api_key_header", {"header": "X-Api-Key", "value": "k\u2028"}, "value holds"),
        ("api_key_header", {"header": "X Api Key", "value": "k"}, "is not a valid header name"),
        ("api_key_header", {"header": "Host", "value": "k"}, "set by the HTTP client"),
        ("basic", {"username": "sync", "password": "pw☃"}, "password holds characters"),
        ("basic", {"username": "sync", "password": "pw\n"}, "password holds a control"),
        ("basic", {"username": "a:b", "password": "pw"}, "username may not contain ':'"),
    ],
)
def test_credentials_http_cannot_send_are_refused_on_save_naming_credentials(
    admin_api, erp_rest, auth_type, credentials, reason
):
    response = create(
        admin_api,
        name="PLM",
        kind="rest",
        base_url=erp_rest["base_url"],
        auth_type=auth_type,
        credentials=credentials,
    )

    assert response.status_code == 400, response.json()
    assert reason in " ".join(response.json()["errors"]["credentials"])
    assert "tök" not in str(response.json()) and "pw☃" not in str(response.json())
    assert not Connection.objects.exists()


def test_a_basic_password_with_spaces_and_latin_1_letters_is_accepted(admin_api, erp_rest):
    credentials = {"username": "sync", "password": " pä ss "}  # base64-encoded: spaces stay
    response = create(
        admin_api,
        name="PLM",
        kind="rest",
        base_url=erp_rest["base_url"],
        auth_type="basic",
        credentials=credentials,
    )

    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("token", ["tök☃", "tok\r\nX-Admin: 1"])
def test_stored_credentials_http_cannot_send_fail_the_test_and_the_run_without_a_500(
    admin_api, erp_rest, token
):
    from eqms_integration import encryption
    from sync.models import SyncConfiguration, SyncRun

    connection = Connection.objects.create(  # saved before the rule
        name="PLM",
        kind="rest",
        base_url=erp_rest["base_url"],
        auth_type="bearer",
        credentials_encrypted=encryption.encrypt(json.dumps({"token": token})),
    )
    config = SyncConfiguration.objects.create(
        name="PLM parts",
        connection=connection,
        entity_type="products",
        sync_type="full",
        remote_object="parts",
        remote_key="id",
        field_mappings=[{"local": "n", "remote": "n"}],
    )

    tested = admin_api.post(f"/api/sync/connections/{connection.pk}/test/")
    with pytest.raises(CommandError, match="ended failed"):
        call_command("run_sync", str(config.pk))

    assert tested.status_code == 200 and tested.json()["ok"] is False
    for message in (tested.json()["message"], SyncRun.objects.get().error):
        assert message.startswith("The stored credentials cannot be sent over HTTP: token")
        assert "tök" not in message and "X-Admin" not in message
