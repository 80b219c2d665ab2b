"""What a run's outcome says: conflicts left waiting for a person are not plain success (REST,
admin, `run_sync`'s exit status), the external ids gone at the source are listed, and
`run_sync` shows progress against the real total of the whole run."""

from __future__ import annotations

import re
from datetime import date, timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from quality import services as quality
from quality.models import Equipment
from sync.models import SyncConflict, SyncRun
from sync.services.conflicts import conflict_resolve
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
    src.insert(rows(3))
    return src


@pytest.fixture
def admin_client(client):
    get_user_model().objects.create_superuser("boss", password="pw-12345678")
    client.login(username="boss", password="pw-12345678")
    return client


def change_both_sides(source, number: str = "EQ-00001") -> None:
    source.update(number, "ERP name", T0 + timedelta(days=1))
    quality.equipment_update(
        equipment=Equipment.objects.get(number=number), data={"name": "QMS name"}
    )


def run_sync(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("run_sync", *args, stdout=out, stderr=StringIO())
    except SystemExit as exc:
        return int(exc.code), out.getvalue()
    return 0, out.getvalue()


def test_a_run_that_leaves_a_conflict_waiting_is_success_with_conflicts_everywhere(
    source, admin_api, admin_client
):
    config = configure(source, sync_direction="bidirectional", conflict_strategy="manual")
    first = run(config)
    change_both_sides(source)

    code, out = run_sync(str(config.pk))

    waiting = SyncRun.objects.latest("id")
    assert (first.status, first.pending_conflicts) == ("success", 0)
    assert (waiting.status, waiting.conflicted, waiting.pending_conflicts) == (
        "success_with_conflicts",
        1,
        1,
    )
    assert code == 3 and "SUCCESS_WITH_CONFLICTS" in out
    assert "1 conflict waits for a person" in out
    detail = admin_api.get(f"/api/sync/logs/{waiting.pk}/").json()
    assert (detail["status"], detail["pending_conflicts"]) == ("success_with_conflicts", 1)
    listed = admin_api.get("/api/sync/logs/?status=success_with_conflicts").json()
    assert [r["id"] for r in listed["results"]] == [waiting.pk]
    page = admin_client.get(f"/admin/sync/syncrun/{waiting.pk}/change/").content.decode()
    assert "Success, conflicts waiting" in page
    assert f"/admin/sync/syncconflict/?run__id__exact={waiting.pk}" in page


def test_once_the_conflict_is_resolved_the_next_run_is_plain_success(source):
    config = configure(source, sync_direction="bidirectional", conflict_strategy="manual")
    run(config)
    change_both_sides(source)
    assert run(config).status == "success_with_conflicts"
    user = get_user_model().objects.create_user("qa")

    conflict_resolve(
        conflict=SyncConflict.objects.get(), resolution="source_wins", reason="ERP wins", user=user
    )
    after = run(config)

    assert (after.status, after.pending_conflicts) == ("success", 0)


def test_a_conflict_settled_by_its_strategy_leaves_the_run_a_plain_success(source):
    config = configure(source, sync_direction="bidirectional", conflict_strategy="source_wins")
    run(config)
    change_both_sides(source)

    result = run(config)

    assert (result.status, result.conflicted, result.pending_conflicts) == ("success", 1, 0)


def test_a_dry_run_says_it_would_leave_a_conflict_waiting_and_stores_none(source):
    config = configure(source, sync_direction="bidirectional", conflict_strategy="manual")
    run(config)
    change_both_sides(source)

    code, out = run_sync(str(config.pk), "--dry-run")

    dry = SyncRun.objects.latest("id")
    assert code == 3 and "1 conflict would wait for a person" in out
    assert (dry.status, dry.dry_run, dry.pending_conflicts) == ("success_with_conflicts", True, 1)
    assert not SyncConflict.objects.exists()


def test_rows_with_failures_and_conflicts_are_partial_and_still_count_the_conflicts(source):
    config = configure(source, sync_direction="bidirectional", conflict_strategy="manual")
    run(config)
    change_both_sides(source)
    source.insert([("EQ-00009", "Broken", "X", "2027-03-01", T0 + timedelta(days=2))])

    code, _ = run_sync(str(config.pk))

    result = SyncRun.objects.latest("id")
    assert (result.status, result.failed, result.pending_conflicts) == ("partial", 1, 1)
    assert code == 2


def test_a_full_run_lists_the_external_ids_gone_at_the_source_in_rest_admin_and_run_sync(
    source, admin_api, admin_client
):
    config = configure(source, sync_type="full")
    run(config)
    source.delete("EQ-00003")
    source.delete("EQ-00001")

    code, out = run_sync(str(config.pk))

    result = SyncRun.objects.latest("id")
    assert code == 0
    assert (result.missing_at_source, result.missing_at_source_ids) == (
        2,
        ["EQ-00001", "EQ-00003"],
    )
    assert "gone at the source: EQ-00001, EQ-00003" in out
    detail = admin_api.get(f"/api/sync/logs/{result.pk}/").json()
    assert detail["missing_at_source_ids"] == ["EQ-00001", "EQ-00003"]
    page = admin_client.get(f"/admin/sync/syncrun/{result.pk}/change/").content.decode()
    assert "EQ-00001" in page and "EQ-00003" in page


def test_the_list_of_ids_gone_at_the_source_is_capped_and_the_count_stays_exact(
    source, monkeypatch
):
    monkeypatch.setattr(SyncRun, "MISSING_IDS_KEPT", 2)
    source.insert(rows(2, start=4))
    config = configure(source, sync_type="full")
    run(config)
    for number in ("EQ-00001", "EQ-00002", "EQ-00004", "EQ-00005"):
        source.delete(number)

    _, out = run_sync(str(config.pk))

    result = SyncRun.objects.latest("id")
    assert (result.missing_at_source, result.missing_at_source_ids) == (
        4,
        ["EQ-00001", "EQ-00002"],
    )
    assert "gone at the source: EQ-00001, EQ-00002 and 2 more" in out


def test_dry_run_progress_counts_against_the_total_of_both_halves_of_a_two_way_run(source):
    for n in range(4):
        quality.equipment_create(
            number=f"QMS-{n}", name=f"Made here {n}", calibration_due_date=date(2027, 3, 1)
        )
    config = configure(source, sync_direction="bidirectional", sync_type="full")

    code, out = run_sync(str(config.pk), "--dry-run")

    totals = re.findall(r"\] (\d+)/(\d+) rows", out)
    assert code == 0 and totals, out
    assert {total for _, total in totals} == {"7"}  # 3 external rows + 4 QMS rows, from the start
    assert totals[-1] == ("7", "7")
    assert Equipment.objects.count() == 4  # a dry run


def test_delta_progress_counts_the_records_tried_again_in_the_total(source):
    config = configure(source)
    run(config)
    source.insert([("EQ-00009", "Broken", "X", "2027-03-01", T0 + timedelta(days=2))])
    assert run(config).status == "partial"  # EQ-00009 waits to be tried again
    source.insert(rows(1, start=10, at=T0 + timedelta(days=3)))

    code, out = run_sync(str(config.pk))

    assert code == 2  # EQ-00009 still fails
    assert re.findall(r"\] (\d+)/(\d+) rows", out)[-1] == ("2", "2")


def test_list_syncs_shows_a_run_with_conflicts_waiting_in_full(source):
    config = configure(source, sync_direction="bidirectional", conflict_strategy="manual")
    run(config)
    change_both_sides(source)
    run(config)
    out = StringIO()

    call_command("list_syncs", stdout=out)

    line = next(line for line in out.getvalue().splitlines() if "ERP equipment" in line)
    assert re.search(r"success_with_conflicts \d{4}-\d\d-\d\d \d\d:\d\d \(4 rows\)", line), line
    assert line.rstrip().endswith(" 1")
