"""API keys in a real browser: create one, see it once, revoke it."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from apikeys.models import APIKey
from tests.browser.conftest import admin_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_administrator_creates_a_key_sees_it_once_and_revokes_it(
    page, live_server, screenshot_dir
):
    get_user_model().objects.create_superuser("admin", password="browser-pw-123")
    admin_login(page, live_server.url, "admin", "browser-pw-123")

    page.goto(f"{live_server.url}/admin/apikeys/apikey/add/")
    page.fill("#id_name", "MES line 4")
    page.check("input[name=scopes][value='ncr:read']")
    page.check("input[name=scopes][value='capa:write']")
    page.click("input[name=_save]")
    shown = page.input_value("input.issued-key")
    page.click("button.copy-key")
    page.wait_for_selector("text=Copied")
    page.screenshot(path=str(screenshot_dir / "admin-apikey-issued.png"), full_page=True)

    key = APIKey.objects.get()
    assert shown.startswith(f"eqms_{key.key_id}_") and key.scopes == ["ncr:read", "capa:write"]

    page.goto(f"{live_server.url}/admin/apikeys/apikey/{key.pk}/change/")
    assert shown not in page.content()  # never shown again

    page.goto(f"{live_server.url}/admin/apikeys/apikey/")
    page.check(f"input[name=_selected_action][value='{key.pk}']")
    page.select_option("select[name=action]", "revoke_selected")
    page.click("button[name=index]")
    page.wait_for_selector("text=Revoked 1 key.")
    page.screenshot(path=str(screenshot_dir / "admin-apikey-revoked.png"), full_page=True)
    key.refresh_from_db()
    assert key.state == "revoked"
