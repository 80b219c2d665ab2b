"""A sync configuration in a real browser: the overview with its chart of runs (dry runs hollow,
a run with a conflict waiting in its own colour), the mapping editor over the remote columns,
a dry run from its button, and the connection form showing the fields of its kind only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model

from quality import services as quality
from quality.models import Equipment
from sync.models import Connection, SyncConfiguration, SyncRun
from tests.browser.conftest import admin_login
from tests.sync.sources import SQLiteSource
from tests.sync.test_engine import T0, configure, rows, run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def history(tmp_path, settings, sync_test_systems):
    """A two-way configuration with a few runs behind it, one of them a dry run and the last
    one leaving a conflict waiting."""
    settings.SYNC_LOCAL_SETTLE_SECONDS = 0
    source = SQLiteSource(tmp_path)
    source.create()
    source.insert(rows(4))
    config = configure(
        source,
        sync_direction="bidirectional",
        conflict_strategy="manual",
        schedule_type="interval",
        interval_minutes=60,
    )
    run(config, dry_run=True)
    run(config)
    source.insert(rows(3, start=10, at=T0 + timedelta(hours=1)))
    run(config)
    source.update("EQ-00002", "Caliper (ERP)", T0 + timedelta(days=1))
    quality.equipment_update(
        equipment=Equipment.objects.get(number="EQ-00002"), data={"name": "Caliper (QMS)"}
    )
    run(config)
    return config


def test_the_configuration_overview_charts_its_runs_and_the_mapping_editor_saves(
    page, live_server, screenshot_dir, history
):
    get_user_model().objects.create_superuser("admin", password="browser-pw-123")
    admin_login(page, live_server.url, "admin", "browser-pw-123")

    page.goto(f"{live_server.url}/admin/sync/syncconfiguration/{history.pk}/change/")
    overview = page.inner_text("#sync-overview")
    assert "Success, conflicts waiting" in overview and "1 waiting for a person" in overview
    assert "changed_at 2026-11-02T08:00:00, key EQ-00002" in overview  # the external cursor
    chart = page.locator("#run-chart")
    assert chart.locator("svg").count() == 2
    assert chart.locator("rect.run-bar.dry-run").count() == 2  # one dry run, two panels
    assert chart.locator("rect.run-bar.success_with_conflicts").count() == 2
    assert "dry run (hollow)" in chart.inner_text()
    chart.screenshot(path=str(screenshot_dir / "admin-sync-run-chart.png"))
    page.screenshot(path=str(screenshot_dir / "admin-sync-configuration.png"), full_page=True)

    # The mapping editor replaces the JSON box with a table of QMS fields and remote columns.
    assert not page.is_visible("#id_field_mappings")
    editor = page.locator(".mapping-editor-table")
    assert editor.locator("tr.mapping-row").count() == 3
    remote_options = editor.locator("tr.mapping-row").first.locator("select.mapping-remote option")
    assert "changed_at" in remote_options.all_inner_texts()
    page.click("button.mapping-add")
    new_row = editor.locator("tr.mapping-row").last
    new_row.locator("select.mapping-local").select_option("serial_number")
    new_row.locator("select.mapping-remote").select_option("equipment_no")
    new_row.locator("select.mapping-transform").select_option("upper")
    editor.screenshot(path=str(screenshot_dir / "admin-sync-mapping-editor.png"))
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")

    history.refresh_from_db()
    assert history.field_mappings[-1] == {
        "local": "serial_number",
        "remote": "equipment_no",
        "transform": "upper",
    }
    assert "'upper' applies to values read from the external system only" in page.inner_text(
        ".messagelist"
    )

    page.click("a.object-action-dry-run")
    page.wait_for_selector("#confirm-action")
    page.screenshot(path=str(screenshot_dir / "admin-sync-dry-run-confirm.png"), full_page=True)
    page.click("#confirm-action")
    page.wait_for_selector(".messagelist .success")
    queued = SyncRun.objects.latest("id")
    assert queued.dry_run and queued.status == "queued"


def test_the_connection_form_shows_the_fields_of_the_chosen_kind(page, live_server, screenshot_dir):
    get_user_model().objects.create_superuser("admin", password="browser-pw-123")
    admin_login(page, live_server.url, "admin", "browser-pw-123")

    page.goto(f"{live_server.url}/admin/sync/connection/add/")
    page.select_option("#id_kind", "rest")
    assert page.is_visible("#id_base_url") and not page.is_visible("#id_host")
    assert page.input_value("#id_credentials") == ""  # never "null"
    page.screenshot(path=str(screenshot_dir / "admin-sync-connection-rest.png"), full_page=True)
    page.select_option("#id_kind", "postgresql")
    assert page.is_visible("#id_host") and not page.is_visible("#id_base_url")
    page.select_option("#id_kind", "sqlite")
    assert page.is_visible("#id_database") and not page.is_visible("#id_host")
    assert Connection.objects.count() == 0 and SyncConfiguration.objects.count() == 0
