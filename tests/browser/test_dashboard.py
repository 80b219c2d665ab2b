"""The operations dashboard in Chromium: a person with the Admin role opens the admin index
in a state with trouble everywhere, reads it, and follows its lines to the filtered lists."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from tests.browser.conftest import admin_login
from tests.operations.dashboard_state import realistic_state

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_sees_the_trouble_on_the_index_and_follows_it_to_the_lists(
    page, live_server, screenshot_dir, settings
):
    state = realistic_state(settings)
    user = get_user_model().objects.create_user("maria", password="browser-pw-123", is_staff=True)
    user.groups.add(Group.objects.get(name="Admin"))
    admin_login(page, live_server.url, "maria", "browser-pw-123")

    page.goto(f"{live_server.url}/admin/")
    page.screenshot(path=str(screenshot_dir / "admin-dashboard.png"), full_page=True)

    dashboard = page.locator("#eqms-dashboard")
    assert dashboard.locator("[data-check=worker] .state").inner_text() == "DOWN"
    assert "no worker seen for 6" in dashboard.locator("[data-check=worker]").inner_text()
    assert dashboard.locator("[data-check=beat] .state").inner_text() == "UP"
    disabled = dashboard.locator(f"tr[data-subscription='{state.webhooks.disabled.pk}']")
    assert "410 Gone" in disabled.inner_text()
    # The model list is still there, below.
    assert page.locator("#content-main .app-webhooks").count() == 1
    assert page.locator("#eqms-dashboard + .app-list, #eqms-dashboard ~ *").count() >= 1

    conflicts = dashboard.locator(f"tr[data-configuration='{state.sync.conflicted.pk}'] td").nth(3)
    conflicts.locator("a").click()
    page.wait_for_selector("#result_list")
    assert "/admin/sync/syncconflict/" in page.url
    assert page.locator("#result_list tbody tr").count() == 1
    assert "V-1042" in page.locator("#result_list").inner_text()

    page.goto(f"{live_server.url}/admin/")
    page.locator("[data-line=expiring] .big a").click()
    page.wait_for_selector("#result_list")
    assert page.locator("#result_list tbody tr").count() == 1
    assert "MES gateway" in page.locator("#result_list").inner_text()

    page.goto(f"{live_server.url}/admin/")
    hook = dashboard.locator(f"tr[data-subscription='{state.webhooks.failing.pk}'] td").nth(5)
    hook.locator("a").click()
    page.wait_for_selector("#result_list")
    assert page.locator("#result_list tbody tr").count() == 4  # its deliveries still waiting
