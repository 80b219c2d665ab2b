"""A person resolves a sync conflict in the admin: sees both sides and the base, picks the
external system's values, and both sides end up with them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model

from quality import services as quality
from quality.models import Equipment
from sync.models import SyncConflict
from tests.browser.conftest import admin_login
from tests.sync.sources import SQLiteSource
from tests.sync.test_engine import T0, configure, rows, run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_administrator_resolves_a_conflict_side_by_side(
    page, live_server, screenshot_dir, tmp_path, settings, sync_test_systems
):
    settings.SYNC_LOCAL_SETTLE_SECONDS = 0
    source = SQLiteSource(tmp_path)
    source.create()
    source.insert(rows(2))
    config = configure(source, sync_direction="bidirectional", conflict_strategy="manual")
    run(config)
    source.update("EQ-00002", "Caliper (ERP)", T0 + timedelta(days=1))
    quality.equipment_update(
        equipment=Equipment.objects.get(number="EQ-00002"), data={"name": "Caliper (QMS)"}
    )
    run(config)
    conflict = SyncConflict.objects.get()
    get_user_model().objects.create_superuser("admin", password="browser-pw-123")
    admin_login(page, live_server.url, "admin", "browser-pw-123")

    page.goto(f"{live_server.url}/admin/sync/syncconflict/?status__exact=pending")
    page.click(f"#result_list a[href*='/syncconflict/{conflict.pk}/change/']")
    assert page.locator("#resolve-form input[name=resolution]:checked").count() == 0
    assert page.get_attribute("#local-record", "href").endswith(
        f"/admin/quality/equipment/{Equipment.objects.get(number='EQ-00002').pk}/change/"
    )
    assert not page.is_visible("text=" + conflict.source_hash)  # folded away
    row = page.locator("#conflict-values tr.differs")
    assert row.locator("th").inner_text().startswith("name")
    assert row.locator(".source-value").inner_text() == "Caliper (ERP)"
    assert row.locator(".target-value").inner_text() == "Caliper (QMS)"
    page.screenshot(path=str(screenshot_dir / "admin-sync-conflict.png"), full_page=True)
    page.click("#resolve-form input[type=submit]")  # nothing chosen: the browser refuses
    assert SyncConflict.objects.get().status == "pending"
    page.click("details summary")
    assert page.is_visible("text=" + conflict.source_hash)
    page.screenshot(path=str(screenshot_dir / "admin-sync-conflict-details.png"), full_page=True)
    page.check("#resolve-form input[value=source_wins]")
    page.fill("#resolve-form #id_notes", "ERP owns the names")
    page.click("#resolve-form input[type=submit]")
    page.wait_for_selector(".messagelist .success")

    assert "resolved, source wins" in page.inner_text(".messagelist")
    assert SyncConflict.objects.get().status == "resolved"
    assert Equipment.objects.get(number="EQ-00002").name == "Caliper (ERP)"
    assert source.all()["EQ-00002"][0] == "Caliper (ERP)"
    assert run(config, full=True).conflicted == 0
