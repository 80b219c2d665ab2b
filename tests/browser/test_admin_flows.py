"""Flows a person does in the admin, in a real browser. Later features add theirs here."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from quality.models import NCR
from tests.browser.conftest import admin_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_administrator_logs_in_and_records_an_ncr(page, live_server, screenshot_dir):
    get_user_model().objects.create_superuser("admin", password="browser-pw-123")

    admin_login(page, live_server.url, "admin", "browser-pw-123")
    page.goto(f"{live_server.url}/admin/quality/ncr/add/")
    page.fill("#id_title", "Porosity in casting")
    page.select_option("#id_severity", "critical")
    page.fill("#id_source", "Foundry line 2")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    page.screenshot(path=str(screenshot_dir / "admin-ncr-created.png"), full_page=True)

    ncr = NCR.objects.get()
    number = f"NCR-{timezone.localdate().year}-0001"
    assert (ncr.number, ncr.title, ncr.severity) == (number, "Porosity in casting", "critical")
    assert number in page.inner_text("#result_list")
