"""Rules of configurations that people meet in daily use: a configuration can be paused or
renamed while its remote database is down, outbound delta runs need no remote cursor, a
transform that does nothing on the way out is refused, and the first two-way run says what it
will create."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from quality import services as quality
from quality.models import Equipment
from sync.models import Connection, SyncConfiguration
from tests.sync.sources import SQLiteSource
from tests.sync.test_engine import configure, rows, run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_settling(settings) -> None:
    settings.SYNC_LOCAL_SETTLE_SECONDS = 0


@pytest.fixture
def source(tmp_path) -> SQLiteSource:
    src = SQLiteSource(tmp_path)
    src.create()
    src.insert(rows(3))
    return src


def outbound_body(connection: Connection, **overrides) -> dict:
    return {
        "name": "QMS equipment to ERP",
        "system_type": "ERP",
        "connection": connection.pk,
        "entity_type": "equipment",
        "sync_direction": "outbound",
        "sync_type": "delta",
        "remote_object": "erp_equipment",
        "remote_key": "equipment_no",
        "delta_field": "",
        "field_mappings": [
            {"local": "name", "remote": "description"},
            {"local": "calibration_due_date", "remote": "calibration"},
        ],
        **overrides,
    }


def made_here() -> Equipment:
    return quality.equipment_create(
        number="QMS-1", name="Made here", calibration_due_date=date(2027, 1, 1)
    )


def take_down(source: SQLiteSource) -> None:
    """The ERP's database file goes away (a server down, for a file database)."""
    source.path.rename(source.path.with_suffix(".gone"))


def test_a_configuration_is_renamed_rescheduled_and_disabled_while_its_database_is_down(
    source, admin_api
):
    config = configure(source)
    take_down(source)
    url = f"/api/sync/configurations/{config.pk}/"

    renamed = admin_api.patch(url, {"name": "ERP gauges", "description": "nightly"}, format="json")
    rescheduled = admin_api.patch(
        url, {"schedule_type": "interval", "interval_minutes": 30}, format="json"
    )
    disabled = admin_api.patch(url, {"enabled": False}, format="json")
    same_mappings = admin_api.patch(url, {"field_mappings": config.field_mappings}, format="json")
    remapped = admin_api.patch(url, {"remote_key": "description"}, format="json")

    assert [r.status_code for r in (renamed, rescheduled, disabled, same_mappings)] == [200] * 4
    # A change that needs the catalogue is refused, naming why the source cannot be read.
    assert remapped.status_code == 400
    assert "does not exist (nothing is created)" in remapped.json()["errors"]["connection"][0]
    config.refresh_from_db()
    assert (config.name, config.description, config.schedule_type, config.enabled) == (
        "ERP gauges",
        "nightly",
        "interval",
        False,
    )
    assert config.remote_key == "equipment_no"


@pytest.mark.parametrize(
    "change",
    [
        {"remote_object": "other"},
        {"remote_key": "description"},
        {"delta_field": "calibration"},
        {"entity_type": "orders"},
        {"sync_direction": "bidirectional"},
        {"field_mappings": [{"local": "name", "remote": "description"}]},
        {"conflict_strategy": "newest_wins"},
    ],
)
def test_a_change_the_remote_catalogue_decides_on_needs_the_database(source, admin_api, change):
    config = configure(source)
    take_down(source)

    response = admin_api.patch(f"/api/sync/configurations/{config.pk}/", change, format="json")

    assert response.status_code == 400, response.json()
    assert "does not exist (nothing is created)" in response.json()["errors"]["connection"][0]


def test_an_outbound_delta_without_a_remote_cursor_writes_only_what_changed_in_the_qms(
    source, admin_api
):
    connection = Connection.objects.create(name="ERP", **source.connection_fields())
    for n in (1, 2):
        quality.equipment_create(
            number=f"QMS-{n}", name=f"Made here {n}", calibration_due_date=date(2027, 3, n)
        )

    created = admin_api.post("/api/sync/configurations/", outbound_body(connection), format="json")
    config_id = created.json()["id"]
    preview = admin_api.get(f"/api/sync/configurations/{config_id}/delta/").json()
    call_command("run_sync", str(config_id), stdout=StringIO())
    quality.equipment_update(
        equipment=Equipment.objects.get(number="QMS-2"), data={"name": "Renamed here"}
    )
    later = admin_api.get(f"/api/sync/configurations/{config_id}/delta/").json()
    out = StringIO()
    call_command("run_sync", str(config_id), stdout=out)

    assert created.status_code == 201, created.json()
    assert (preview["direction"], preview["count"]) == ("outbound", 2)
    assert preview["rows"][0]["values"]["description"] == "Made here 1"
    assert later["count"] == 1 and later["after"] is not None
    assert "SUCCESS: 1 processed, 0 created, 1 updated" in out.getvalue()
    table = source.all()
    assert table["QMS-1"][0] == "Made here 1" and table["QMS-2"][0] == "Renamed here"
    assert table["EQ-00001"][0] == "Gauge 1"  # the ERP's own rows are left alone


def test_a_delta_that_reads_the_external_side_still_needs_its_cursor(source, admin_api):
    connection = Connection.objects.create(name="ERP", **source.connection_fields())

    response = admin_api.post(
        "/api/sync/configurations/",
        outbound_body(connection, sync_direction="bidirectional"),
        format="json",
    )

    assert response.status_code == 400
    assert "needs a cursor column" in response.json()["errors"]["delta_field"][0]


@pytest.mark.parametrize(
    "transform",
    ["upper", "lower", "trim", ["trim", "upper"], {"type": "default", "value": "n/a"}],
)
def test_a_transform_that_does_nothing_on_the_way_out_is_refused_naming_the_mapping(
    source, admin_api, transform
):
    connection = Connection.objects.create(name="ERP", **source.connection_fields())
    mappings = [
        {"local": "calibration_due_date", "remote": "calibration"},
        {"local": "name", "remote": "description", "transform": transform},
    ]

    response = admin_api.post(
        "/api/sync/configurations/",
        outbound_body(connection, field_mappings=mappings),
        format="json",
    )

    assert response.status_code == 400
    [message] = response.json()["errors"]["field_mappings"]
    assert message.startswith("#2 (name ↔ description): ")
    assert "does nothing on the way out" in message
    assert not SyncConfiguration.objects.exists()


@pytest.mark.parametrize(
    ("local", "remote", "transform"),
    [
        ("status", "status_code", {"type": "map", "values": {"A": "active"}}),
        ("calibration_due_date", "calibration", {"type": "date", "format": "%d.%m.%Y"}),
        ("calibration_due_date", "calibration", "date"),
    ],
)
def test_transforms_with_a_way_back_are_accepted_on_outbound(
    source, admin_api, local, remote, transform
):
    connection = Connection.objects.create(name="ERP", **source.connection_fields())
    mappings = [
        {"local": "name", "remote": "description"},
        {"local": local, "remote": remote, "transform": transform},
    ]

    response = admin_api.post(
        "/api/sync/configurations/",
        outbound_body(connection, field_mappings=mappings),
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["warnings"] == []


def test_a_one_way_transform_of_a_two_way_configuration_is_saved_with_a_warning(source, admin_api):
    config = configure(source, sync_direction="bidirectional")

    shown = admin_api.get(f"/api/sync/configurations/{config.pk}/").json()

    assert shown["warnings"] == [
        "#1 (name ↔ description): 'trim' applies to values read from the external system "
        "only; values written back keep the QMS's form."
    ]


def test_an_older_outbound_configuration_with_a_one_way_transform_still_runs(source):
    config = configure(
        source,
        sync_direction="outbound",
        field_mappings=[
            {"local": "name", "remote": "description"},
            {"local": "calibration_due_date", "remote": "calibration"},
        ],
    )
    SyncConfiguration.objects.filter(pk=config.pk).update(
        field_mappings=[
            {"local": "name", "remote": "description", "transform": "trim"},
            {"local": "calibration_due_date", "remote": "calibration"},
        ]
    )
    config.refresh_from_db()
    made_here()

    assert run(config).status == "success"


def test_the_first_two_way_run_says_what_it_will_create_until_a_run_has_done_it(source, admin_api):
    made_here()
    config = configure(source, sync_direction="bidirectional")
    url = f"/api/sync/configurations/{config.pk}/delta/"

    before = admin_api.get(url).json()
    run(config, dry_run=True)
    after_dry_run = admin_api.get(url).json()
    run(config)
    after_run = admin_api.get(url).json()

    assert before["first_run"] is True and before["direction"] == "bidirectional"
    [notice] = before["notices"]
    assert "records that exist on one side only are created on the other" in notice
    assert "dry run" in notice
    assert (before["count"], before["outbound"]["count"]) == (3, 1)
    assert before["outbound"]["rows"][0]["external_id"] == "QMS-1"
    assert after_dry_run["first_run"] is True  # a dry run created nothing
    assert (after_run["first_run"], after_run["notices"]) == (False, [])
