"""The sync configuration page in the admin: saves that need no remote, warnings, the overview
(statistics, cursors, next run, conflicts, chart), the mapping editor and the run-now button."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from quality import services as quality
from quality.models import Equipment
from sync.models import SyncConfiguration, SyncRun
from tests.sync.sources import SQLiteSource
from tests.sync.test_engine import T0, configure, rows, run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_settling(settings) -> None:
    settings.SYNC_LOCAL_SETTLE_SECONDS = 0


@pytest.fixture
def admin_client(client):
    get_user_model().objects.create_superuser("boss", password="pw-12345678")
    client.login(username="boss", password="pw-12345678")
    return client


@pytest.fixture
def source(tmp_path) -> SQLiteSource:
    src = SQLiteSource(tmp_path)
    src.create()
    src.insert(rows(3))
    return src


def form_data(config: SyncConfiguration, **overrides) -> dict:
    """The change form as the admin posts it, with the configuration's stored values."""
    data = {}
    for field in SyncConfiguration._meta.concrete_fields:
        if field.name in ("id", "created_at", "updated_at"):
            continue
        value = getattr(config, field.attname)
        if field.name == "field_mappings":
            value = json.dumps(value)
        elif isinstance(value, bool):
            if not value:
                continue
            value = "on"
        data[field.name] = "" if value is None else value
    data.update(overrides)
    return data


def change_both_sides(source, number: str = "EQ-00001") -> None:
    source.update(number, "ERP name", T0 + timedelta(days=1))
    quality.equipment_update(
        equipment=Equipment.objects.get(number=number), data={"name": "QMS name"}
    )


def page_of(client, config: SyncConfiguration) -> str:
    return client.get(f"/admin/sync/syncconfiguration/{config.pk}/change/").content.decode()


def test_a_configuration_is_renamed_in_the_admin_while_its_database_is_down(admin_client, source):
    config = configure(source)
    source.path.rename(source.path.with_suffix(".gone"))
    url = f"/admin/sync/syncconfiguration/{config.pk}/change/"

    renamed = admin_client.post(url, form_data(config, name="ERP gauges", description="nightly"))
    remapped = admin_client.post(url, form_data(config, remote_key="description"))

    assert renamed.status_code == 302
    config.refresh_from_db()
    assert (config.name, config.description) == ("ERP gauges", "nightly")
    assert remapped.status_code == 200 and config.remote_key == "equipment_no"


def test_saving_a_two_way_configuration_with_a_read_only_transform_warns(admin_client, source):
    config = configure(source, sync_direction="bidirectional")

    response = admin_client.post(
        f"/admin/sync/syncconfiguration/{config.pk}/change/", form_data(config), follow=True
    )

    messages = [str(m) for m in response.context["messages"]]
    assert any("'trim' applies to values read from the external system only" in m for m in messages)


def test_an_outbound_configuration_with_a_transform_that_does_nothing_is_refused(
    admin_client, source
):
    config = configure(source, sync_direction="outbound")
    mappings = [{"local": "name", "remote": "description", "transform": "upper"}]

    response = admin_client.post(
        f"/admin/sync/syncconfiguration/{config.pk}/change/",
        form_data(config, field_mappings=json.dumps(mappings)),
    )

    assert response.status_code == 200
    assert "does nothing on the way out" in response.content.decode()
    config.refresh_from_db()
    assert "transform" not in config.field_mappings[0]


def editor_data(page: str) -> dict:
    found = re.search(
        r'<script id="id_field_mappings-editor" type="application/json">(.*?)</script>', page, re.S
    )
    assert found, "no mapping editor on the page"
    return json.loads(found.group(1))


def test_the_overview_shows_the_last_run_totals_cursors_next_run_and_waiting_conflicts(
    admin_client, source
):
    config = configure(
        source,
        sync_direction="bidirectional",
        conflict_strategy="manual",
        schedule_type="interval",
        interval_minutes=30,
    )
    run(config)
    change_both_sides(source)
    waiting = run(config)

    page = page_of(admin_client, config)

    assert 'id="sync-overview"' in page
    last = re.search(r'<dd id="overview-last-run">(.*?)</dd>', page, re.S).group(1)
    assert f"run {waiting.pk}" in last and "Success, conflicts waiting" in last
    assert "1 left waiting" in last
    totals = re.search(r'<dd id="overview-totals">(.*?)</dd>', page, re.S).group(1)
    assert "2 finished" in totals and "1 success, 1 with conflicts" in totals
    assert (
        f"?status__exact=pending&amp;configuration__id__exact={config.pk}" in page
        and "1 waiting for a person" in page
    )
    cursor = re.search(r'<dd id="overview-cursor">(.*?)</dd>', page, re.S).group(1)
    assert "changed_at 2026-11-02T08:00:00" in cursor and "key EQ-00001" in cursor
    assert "updated_at " in re.search(
        r'<dd id="overview-local-cursor">(.*?)</dd>', page, re.S
    ).group(1)
    next_run = re.search(r'<dd id="overview-next-run">(.*?)</dd>', page, re.S).group(1)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", next_run)


def test_the_chart_has_axes_dates_outcome_colours_and_hollow_dry_runs(admin_client, source):
    config = configure(source)
    run(config)
    source.insert(rows(2, start=10))
    dry = run(config, dry_run=True)
    run(config)

    page = page_of(admin_client, config)

    chart = re.search(
        r'<fieldset class="module run-chart" id="run-chart">(.*?)</fieldset>', page, re.S
    ).group(1)
    assert "Last 3 runs" in chart
    assert chart.count("<svg") == 2 and chart.count('class="axis"') == 4
    assert chart.count('class="run-bar success"') == 4  # 2 real runs x 2 panels
    assert chart.count('class="run-bar success dry-run"') == 2 and 'fill="none"' in chart
    assert 'fill="#417690"' in chart  # success's colour
    assert "dry run (hollow)" in chart and "Rows read" in chart and "Duration" in chart
    assert len(re.findall(r">\d\d:\d\d:\d\d</text>", chart)) >= 2  # times along x
    assert re.search(r'text-anchor="end"[^>]*>4</text>', chart)  # rows axis: 0..4 (3 rows)
    assert f"Run {dry.pk} (success, dry run)" in chart  # the tooltip


def test_runs_over_several_days_are_dated_along_the_x_axis(admin_client, source):
    config = configure(source)
    first, second = run(config), run(config)
    SyncRun.objects.filter(pk=first.pk).update(finished_at=second.finished_at - timedelta(days=3))

    page = page_of(admin_client, config)

    labels = re.findall(r">(\d\d-\d\d \d\d:\d\d)</text>", page)
    assert len(labels) == 4  # two runs, two panels
    assert labels[0] == timezone.localtime(second.finished_at - timedelta(days=3)).strftime(
        "%m-%d %H:%M"
    )


def test_recent_runs_are_listed_with_seconds_and_dry_runs_marked(admin_client, source):
    config = configure(source)
    dry = run(config, dry_run=True)

    page = page_of(admin_client, config)

    row = re.search(r'<tr class="success dry-run">(.*?)</tr>', page, re.S).group(1)
    assert "<strong>(dry run)</strong>" in row
    shown = timezone.localtime(dry.finished_at).strftime("%Y-%m-%d %H:%M:%S")
    assert shown in row


def test_the_mapping_editor_lists_the_qms_fields_and_the_remote_columns(admin_client, source):
    config = configure(source)

    data = editor_data(page_of(admin_client, config))

    assert data["columns"] == [
        "equipment_no",
        "description",
        "status_code",
        "calibration",
        "changed_at",
    ]  # in the table's order
    assert "calibration_due_date" in data["local_fields"]["equipment"]
    assert data["local_fields"]["orders"] is None  # the record store takes any name
    assert data["error"] == "" and "trim" in data["transforms"]
    assert data["columns_url"] == "/admin/sync/syncconfiguration/columns/"


def test_with_the_remote_down_the_mappings_are_edited_as_json_and_still_saved(admin_client, source):
    config = configure(source)
    source.path.rename(source.path.with_suffix(".gone"))
    mappings = [{"local": "name", "remote": "description"}]

    page = page_of(admin_client, config)
    data = editor_data(page)
    source.path.with_suffix(".gone").rename(source.path)  # back up for the save's check
    saved = admin_client.post(
        f"/admin/sync/syncconfiguration/{config.pk}/change/",
        form_data(config, field_mappings=json.dumps(mappings)),
    )

    assert data["columns"] is None and "could not be read" in data["error"]
    assert 'class="errornote mapping-editor-error"' in page and 'name="field_mappings"' in page
    assert saved.status_code == 302
    config.refresh_from_db()
    assert config.field_mappings == mappings


def test_the_columns_endpoint_reads_the_catalogue_for_the_editor(admin_client, source):
    config = configure(source)
    url = "/admin/sync/syncconfiguration/columns/"

    found = admin_client.get(url, {"connection": config.connection_id, "object": source.table})
    missing = admin_client.get(url, {"connection": config.connection_id, "object": "nope"})
    unknown = admin_client.get(url, {"connection": "999", "object": source.table})

    assert "description" in found.json()["columns"]
    assert missing.json()["columns"] is None and "could not be read" in missing.json()["error"]
    assert unknown.json()["error"] == "No such connection."


def test_run_now_and_dry_run_buttons_queue_runs_after_a_confirmation(
    admin_client, source, django_capture_on_commit_callbacks
):
    config = configure(source)
    page = page_of(admin_client, config)

    with django_capture_on_commit_callbacks(execute=False):
        dry = admin_client.post(f"/admin/sync/syncconfiguration/{config.pk}/dry-run/", follow=True)
    busy = admin_client.get(f"/admin/sync/syncconfiguration/{config.pk}/run/").content.decode()
    queued = SyncRun.objects.get()

    assert f'href="/admin/sync/syncconfiguration/{config.pk}/run/"' in page
    assert f'href="/admin/sync/syncconfiguration/{config.pk}/dry-run/"' in page
    assert queued.dry_run and queued.status == "queued" and queued.trigger == "admin"
    assert f"dry run {queued.pk}</a> queued" in dry.content.decode()
    assert "is already running" in busy


def test_a_first_two_way_run_is_announced_with_the_dry_run_offered(admin_client, source):
    config = configure(source, sync_direction="bidirectional")

    first = page_of(admin_client, config)
    preview = admin_client.get(f"/admin/sync/syncconfiguration/{config.pk}/preview/")
    run(config)
    later = page_of(admin_client, config)

    notice = re.search(
        r'<div class="first-run-notice" id="first-run-notice">(.*?)</div>', first, re.S
    ).group(1)
    assert "created on the other" in notice
    assert f"/admin/sync/syncconfiguration/{config.pk}/dry-run/" in notice
    assert "created on the other" in preview.content.decode()
    assert re.search(r"QMS records? changed since the last run", preview.content.decode())
    assert 'id="first-run-notice"' not in later


def test_a_reader_can_neither_list_columns_nor_start_runs(client, source):
    from django.contrib.auth.models import Group

    config = configure(source)
    auditor = get_user_model().objects.create_user("auditor", password="pw-12345678", is_staff=True)
    auditor.groups.add(Group.objects.get(name="Auditor"))
    client.login(username="auditor", password="pw-12345678")

    page = page_of(client, config)
    columns = client.get(
        "/admin/sync/syncconfiguration/columns/",
        {"connection": config.connection_id, "object": source.table},
    )
    started = client.post(f"/admin/sync/syncconfiguration/{config.pk}/run/")

    assert 'id="sync-overview"' in page and "/run/" not in page
    assert columns.status_code == 403 and started.status_code == 403
    assert not SyncRun.objects.exists()
