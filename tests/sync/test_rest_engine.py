"""Runs against a REST API (a fake ERP on 127.0.0.1): pages of items brought into the QMS,
QMS changes written back with PUT, our own writes not seen as changes, a refused write failing
alone, and an API that cannot be reached failing the run with a clear reason."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from quality import services as quality
from quality.models import Equipment
from sync import services
from sync.models import SyncConfiguration, SyncLink, SyncRun
from sync.services.runs import run_execute, run_start
from tests.sync.rest_server import RESOURCE, FakeERP, Reply

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_settling(settings) -> None:
    settings.SYNC_LOCAL_SETTLE_SECONDS = 0


@pytest.fixture
def erp() -> Iterator[FakeERP]:
    with FakeERP.running() as server:
        server.pagination = "page"
        server.stamp_writes = True
        server.add(*(item(n) for n in range(1, 13)))
        yield server


def item(number: int, name: str | None = None, at: datetime = T0) -> dict:
    # Cursors repeat: rows sharing a time straddle the pages of 5.
    return {
        "id": f"EQ-{number}",
        "name": name or f"Gauge {number}",
        "site": {"hall": f"Hall {number % 3}"},
        "updated_at": (at + timedelta(minutes=number // 4)).isoformat(),
    }


def configure(erp: FakeERP, **overrides) -> SyncConfiguration:
    connection = services.connection_create(
        name="ERP API",
        kind="rest",
        base_url=erp.base_url,
        auth_type="none",
        options={"items_path": "items", "pagination": {"type": "page"}},
    )
    return services.configuration_create(
        **{
            "name": "ERP equipment API",
            "system_type": "ERP",
            "connection": connection,
            "entity_type": "equipment",
            "sync_type": "delta",
            "remote_object": RESOURCE[1:],
            "remote_key": "id",
            "delta_field": "updated_at",
            "batch_size": 5,
            "field_mappings": [
                {"local": "name", "remote": "name"},
                {"local": "location", "remote": "site.hall"},
            ],
            **overrides,
        }
    )


def run(config: SyncConfiguration, **kwargs) -> SyncRun:
    return run_execute(run=run_start(config=config, **kwargs))


def test_an_api_is_read_page_by_page_and_the_next_delta_reads_only_what_changed(erp):
    config = configure(erp)

    first = run(config)
    later = T0 + timedelta(days=1)
    erp.add(item(5, "Gauge 5 (moved)", at=later), item(20, at=later))
    second = run(config)
    third = run(config)

    assert (first.status, first.processed, first.created) == ("success", 12, 12)
    assert Equipment.objects.get(number="EQ-7").location == "Hall 1"
    assert (second.created, second.updated) == (1, 1)
    assert Equipment.objects.get(number="EQ-5").name == "Gauge 5 (moved)"
    # The API filters with >= on the stored cursor; the keyset filter drops what was read.
    assert (third.processed, third.created, third.updated) == (0, 0, 0)
    assert Equipment.objects.count() == 13


def test_two_way_with_an_api_writes_qms_changes_back_and_does_not_echo_them(erp):
    config = configure(erp, sync_direction="bidirectional")
    run(config)
    quality.equipment_create(number="EQ-NEW", name="Made in the QMS", location="Hall 9")
    quality.equipment_update(
        equipment=Equipment.objects.get(number="EQ-3"), data={"name": "Renamed in the QMS"}
    )

    pushed = run(config)
    settled = run(config)

    assert (pushed.created, pushed.updated, pushed.failed) == (1, 1, 0)
    assert erp.items["EQ-NEW"]["name"] == "Made in the QMS"
    assert erp.items["EQ-NEW"]["site"] == {"hall": "Hall 9"}  # dotted names nest again
    assert erp.items["EQ-3"]["name"] == "Renamed in the QMS"
    assert [r.method for r in erp.log if r.method != "GET"] == ["PUT", "PUT"]
    # The API stamped both writes as changes; read back, they equal what was written.
    assert (settled.created, settled.updated, settled.conflicted) == (0, 0, 0)
    assert settled.skipped == settled.processed >= 2


def test_a_write_the_api_refuses_fails_that_row_alone(erp):
    config = configure(erp, sync_direction="outbound")
    quality.equipment_create(number="EQ-A", name="Accepted")
    quality.equipment_create(number="EQ-R", name="Refused")
    erp.reply(f"{RESOURCE}/EQ-R", Reply(422, {"error": "plant code missing"}))

    result = run(config)

    assert (result.status, result.created, result.failed) == ("partial", 1, 1)
    error = result.row_errors.get()
    assert error.external_id == "EQ-R" and "422" in error.message
    assert "EQ-A" in erp.items and "EQ-R" not in erp.items
    retried = run(config)  # the refusal is not repeated: the retry goes through
    assert (retried.status, retried.created) == ("success", 1) and "EQ-R" in erp.items


def test_an_api_that_cannot_be_reached_fails_the_run_with_a_clear_reason(erp):
    config = configure(erp)
    base = erp.base_url.replace(str(erp.port), "9")
    services.connection_update(connection=config.connection, data={"base_url": base})
    config.refresh_from_db()

    result = run(config)

    assert result.status == "failed"
    assert result.error.endswith("failed: could not connect to 127.0.0.1:9.")


@pytest.mark.parametrize("path", ["/api/v1/equipment", "../admin", "https://elsewhere/x", "a b"])
def test_a_resource_that_is_not_a_path_under_base_url_is_refused_on_save(erp, path):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        configure(erp, remote_object=path)

    assert "relative to base_url" in refused.value.message_dict["remote_object"][0]


def test_run_sync_shows_rows_so_far_when_the_api_does_not_say_how_many(erp):
    from io import StringIO

    from django.core.management import call_command

    configure(erp)
    out = StringIO()

    call_command("run_sync", "ERP equipment API", stdout=out)

    text = out.getvalue()
    assert "5 rows so far: 5 created" in text and "12 rows so far: 12 created" in text
    assert "SUCCESS: 12 processed, 12 created, 0 updated, 0 unchanged, 0 failed" in text


@pytest.mark.parametrize("entity_type", ["equipment", "orders"])
def test_a_row_holding_what_the_database_cannot_store_fails_alone(erp, entity_type):
    """Found by the attack of issue 10: one item with a NUL character failed a whole run on
    PostgreSQL with 'Unexpected error: DataError' (and its retries after it)."""
    erp.add(
        {
            "id": "EQ-13",
            "name": "Gauge\x0013",
            "site": {"hall": "Hall 1"},
            "updated_at": T0.isoformat(),
        },
        {
            "id": "EQ-14",
            "name": "Gauge \ud83414",
            "site": {"hall": "Hall 1"},
            "updated_at": T0.isoformat(),
        },
        {
            "id": "EQ-15",
            "name": "Gauge 15",
            "site": {"hall": float("inf")},
            "updated_at": T0.isoformat(),
        },
        {
            "id": "EQ\x0016",
            "name": "Gauge 16",
            "site": {"hall": "Hall 1"},
            "updated_at": T0.isoformat(),
        },
    )
    config = configure(
        erp,
        entity_type=entity_type,
        field_mappings=[
            {"local": "name", "remote": "name"},
            {"local": "location" if entity_type == "equipment" else "site", "remote": "site.hall"},
        ],
    )

    done = run(config)

    errors = {e.external_id: e.message for e in done.row_errors.all()}
    assert (done.status, done.created, done.failed) == ("partial", 13, 3), done.error
    assert "a NUL character (U+0000)" in errors["EQ-13"]
    assert "an unpaired surrogate (U+D834)" in errors["EQ-14"]
    assert "a number out of range" in errors["EQ-15"]
    # A key holding a NUL is kept as its escape, so its row is stored and found again.
    assert SyncLink.objects.filter(configuration=config, external_id="EQ\\u000016").exists()
