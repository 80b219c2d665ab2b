"""API keys in a real browser: create one, see it once (a reload shows nothing and creates
nothing), revoke it with a reason from its own page."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from apikeys.models import APIKey
from tests.browser.conftest import admin_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_administrator_creates_a_key_sees_it_once_and_revokes_it_with_a_reason(
    page, live_server, screenshot_dir
):
    get_user_model().objects.create_superuser("admin", password="browser-pw-123")
    admin_login(page, live_server.url, "admin", "browser-pw-123")

    page.goto(f"{live_server.url}/admin/apikeys/apikey/add/")
    page.fill("#id_name", "MES line 4")
    page.check("input[name=scopes][value='ncr:read']")
    page.check("input[name=scopes][value='capa:write']")
    page.click("input[name=_save]")
    page.wait_for_selector("input.shown-once-secret")
    shown = page.input_value("input.shown-once-secret")
    page.click("button.copy-secret")
    page.wait_for_selector("text=Copied")
    page.screenshot(path=str(screenshot_dir / "admin-apikey-issued.png"), full_page=True)

    key = APIKey.objects.get()
    assert shown.startswith(f"eqms_{key.key_id}_") and key.scopes == ["ncr:read", "capa:write"]
    assert "/admin/apikeys/apikey/issued/" in page.url  # the POST redirected

    page.reload()
    assert page.locator("input.shown-once-secret").count() == 0
    assert "Nothing to show" in page.inner_text("#content-main")
    assert shown not in page.content()
    page.screenshot(path=str(screenshot_dir / "admin-apikey-issued-reloaded.png"), full_page=True)
    assert APIKey.objects.count() == 1  # the reload created nothing

    page.goto(f"{live_server.url}/admin/apikeys/apikey/{key.pk}/change/")
    assert shown not in page.content()  # never shown again
    page.click("a.object-action-revoke")
    page.wait_for_selector("#id_reason")
    page.click("#confirm-action")  # no reason: the browser refuses (required)
    assert APIKey.objects.get().state == "active"
    page.fill("#id_reason", "Line 4 replaced by line 5")
    page.screenshot(path=str(screenshot_dir / "admin-apikey-revoke-confirm.png"), full_page=True)
    page.click("#confirm-action")
    page.wait_for_selector(".messagelist .success")
    assert "Revoked MES line 4" in page.inner_text(".messagelist")
    page.screenshot(path=str(screenshot_dir / "admin-apikey-revoked.png"), full_page=True)
    key.refresh_from_db()
    assert key.state == "revoked" and key.revocation_reason == "Line 4 replaced by line 5"
    assert page.locator("a.object-action-revoke").count() == 0
