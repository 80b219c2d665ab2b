"""Sync configurations are checked against the real remote schema before they are saved."""

from __future__ import annotations

import pytest

from sync.models import Connection, SyncConfiguration

pytestmark = pytest.mark.django_db

MAPPINGS = [
    {"local": "number", "remote": "equipment_no", "transform": ["trim", "upper"]},
    {"local": "name", "remote": "description"},
]


@pytest.fixture
def sqlite_connection(erp_sqlite):
    return Connection.objects.create(name="ERP", kind="sqlite", database=str(erp_sqlite))


def body(connection, **overrides):
    return {
        "name": "ERP equipment",
        "system_type": "erp",
        "system_name": "SAP",
        "connection": connection.pk,
        "entity_type": "equipment",
        "sync_direction": "inbound",
        "sync_type": "delta",
        "remote_object": "equipment",
        "remote_key": "equipment_no",
        "delta_field": "changed_at",
        "field_mappings": MAPPINGS,
        "schedule_type": "cron",
        "cron_expression": "*/15  6-18 * * 1-5",
        **overrides,
    }


def test_a_configuration_matching_the_remote_table_is_saved(admin_api, sqlite_connection):
    response = admin_api.post("/api/sync/configurations/", body(sqlite_connection), format="json")

    assert response.status_code == 201, response.json()
    config = SyncConfiguration.objects.get()
    assert config.cron_expression == "*/15 6-18 * * 1-5"
    assert response.json()["connection_name"] == "ERP"
    assert admin_api.get("/api/sync/configurations/?entity_type=equipment").json()["count"] == 1


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"remote_object": "equipments"}, "remote_object", "No table or view 'equipments'"),
        ({"remote_object": "equipment; DROP TABLE secret_table"}, "remote_object", "not a table"),
        ({"remote_key": "id"}, "remote_key", "has no column 'id'"),
        ({"delta_field": "modified"}, "delta_field", "has no column 'modified'"),
        (
            {"field_mappings": [{"local": "number", "remote": "equipment_number"}]},
            "field_mappings",
            "no column 'equipment_number'",
        ),
        (
            {"field_mappings": [{"local": "colour", "remote": "description"}]},
            "field_mappings",
            "equipment has no field 'colour'",
        ),
        (
            {"field_mappings": [{"local": "name", "remote": "description", "transform": "shout"}]},
            "field_mappings",
            "unknown transform",
        ),
        ({"field_mappings": []}, "field_mappings", "cannot be blank"),
        ({"field_mappings": {"local": "name"}}, "field_mappings", "Give a list"),
        ({"batch_size": 0}, "batch_size", "Between 1 and 10,000"),
        ({"batch_size": 10_001}, "batch_size", "Between 1 and 10,000"),
        ({"cron_expression": "61 * * * *"}, "cron_expression", "not a cron expression"),
        ({"cron_expression": "every hour"}, "cron_expression", "not a cron expression"),
        (
            {"schedule_type": "interval", "interval_minutes": None},
            "interval_minutes",
            "1 to 10,080",
        ),
        ({"sync_type": "delta", "delta_field": ""}, "delta_field", "needs a cursor column"),
        ({"entity_type": "widgets"}, "entity_type", "not a valid choice"),
    ],
)
def test_a_bad_configuration_is_a_400_naming_the_field(
    admin_api, sqlite_connection, overrides, field, message
):
    response = admin_api.post(
        "/api/sync/configurations/", body(sqlite_connection, **overrides), format="json"
    )

    assert response.status_code == 400, response.json()
    assert message in str(response.json()["errors"][field])
    assert not SyncConfiguration.objects.exists()


def test_generic_entity_types_accept_any_plain_field_name(admin_api, sqlite_connection):
    mappings = [{"local": "order_text", "remote": "description"}]

    response = admin_api.post(
        "/api/sync/configurations/",
        body(sqlite_connection, entity_type="orders", field_mappings=mappings),
        format="json",
    )

    assert response.status_code == 201, response.json()


def test_a_configuration_against_postgresql_checks_the_schema_qualified_table(
    admin_api, erp_postgres
):
    connection = Connection.objects.create(
        name="PG",
        kind="postgresql",
        host=erp_postgres["host"],
        port=erp_postgres["port"],
        database=erp_postgres["dbname"],
        username=erp_postgres["user"],
    )
    table = f"{erp_postgres['schema']}.suppliers"
    mappings = [
        {"local": "number", "remote": "vendor_id"},
        {"local": "name", "remote": "vendor_name"},
    ]

    good = admin_api.post(
        "/api/sync/configurations/",
        body(
            connection,
            entity_type="suppliers",
            remote_object=table,
            remote_key="vendor_id",
            delta_field="updated",
            field_mappings=mappings,
        ),
        format="json",
    )
    bad = admin_api.post(
        "/api/sync/configurations/",
        body(
            connection,
            name="other",
            entity_type="suppliers",
            remote_object=table,
            remote_key="VENDOR_ID",
            delta_field="updated",
            field_mappings=mappings,
        ),
        format="json",
    )

    assert good.status_code == 201, good.json()
    assert bad.status_code == 400 and "remote_key" in bad.json()["errors"]


def test_an_unreachable_database_is_a_clear_400_not_a_500(admin_api):
    down = Connection.objects.create(
        name="down",
        kind="postgresql",
        host="127.0.0.1",
        port=9,
        database="x",
        username="u",
        timeout_seconds=2,
    )

    response = admin_api.post("/api/sync/configurations/", body(down), format="json")

    assert response.status_code == 400
    assert "OperationalError" in response.json()["errors"]["remote_object"][0]


def test_updates_are_checked_again(admin_api, sqlite_connection):
    created = admin_api.post("/api/sync/configurations/", body(sqlite_connection), format="json")

    response = admin_api.patch(
        f"/api/sync/configurations/{created.json()['id']}/", {"remote_key": "nope"}, format="json"
    )

    assert response.status_code == 400
    assert SyncConfiguration.objects.get().remote_key == "equipment_no"


def test_managers_read_configurations_and_keys_need_sync_manage_to_write(
    client_for, sqlite_connection
):
    from rest_framework.test import APIClient

    from apikeys.services import apikey_create

    manager = client_for("Manager")
    reader = APIClient()
    reader.credentials(HTTP_X_API_KEY=apikey_create(name="r", scopes=["sync:read"]).key)

    assert manager.get("/api/sync/configurations/").status_code == 200
    assert (
        manager.post(
            "/api/sync/configurations/", body(sqlite_connection), format="json"
        ).status_code
        == 403
    )
    assert reader.get("/api/sync/configurations/").status_code == 200
    assert (
        reader.post("/api/sync/configurations/", body(sqlite_connection), format="json").status_code
        == 403
    )


@pytest.mark.parametrize(("sent", "stored"), [("erp", "erp"), ("ERP", "erp"), ("Other", "other")])
def test_system_types_are_lower_case_and_the_old_upper_case_spelling_is_accepted(
    admin_api, sqlite_connection, sent, stored
):
    created = admin_api.post(
        "/api/sync/configurations/", body(sqlite_connection, system_type=sent), format="json"
    )
    patched = admin_api.patch(
        f"/api/sync/configurations/{created.json()['id']}/",
        {"system_type": sent.upper()},
        format="json",
    )

    assert created.status_code == 201, created.json()
    assert created.json()["system_type"] == stored
    assert patched.status_code == 200 and patched.json()["system_type"] == stored
    assert SyncConfiguration.objects.get().system_type == stored
    for spelling in (stored, stored.upper()):
        listed = admin_api.get(f"/api/sync/configurations/?system_type={spelling}").json()
        assert listed["count"] == 1
    assert admin_api.get("/api/sync/configurations/?system_type=mes").json()["count"] == 0


def test_an_unknown_system_type_is_refused_in_lower_case(admin_api, sqlite_connection):
    response = admin_api.post(
        "/api/sync/configurations/", body(sqlite_connection, system_type="SCADA"), format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"system_type": ['"scada" is not a valid choice.']}


def test_the_migration_rewrites_stored_upper_case_system_types_and_back(transactional_db):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("sync", "0006_run_outcome_with_conflicts_and_missing_ids")]
    after = [("sync", "0007_system_type_lower_case")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    old = old_apps.get_model("sync", "SyncConfiguration")
    link = old_apps.get_model("sync", "Connection").objects.create(name="ERP", kind="sqlite")
    for n, value in enumerate(["ERP", "MES", "Other"]):
        old.objects.create(
            name=f"c{n}",
            system_type=value,
            connection=link,
            entity_type="orders",
            remote_object="t",
            remote_key="k",
        )

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new = executor.loader.project_state(after).apps.get_model("sync", "SyncConfiguration")
    lowered = sorted(new.objects.values_list("system_type", flat=True))
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    restored = sorted(old.objects.values_list("system_type", flat=True))
    MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())

    assert lowered == ["erp", "mes", "other"]
    assert restored == ["ERP", "MES", "Other"]
