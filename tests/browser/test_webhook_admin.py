"""A person sets up a webhook in the admin: the secret is shown once with a Copy button (a
reload shows nothing), a test goes out from the subscription's button and shows up in the
delivery log, to the second."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from standardwebhooks import Webhook

from tests.browser.conftest import admin_login
from tests.webhooks.conftest import Receiver
from webhooks.models import WebhookDelivery, WebhookSubscription

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def local_receiver(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    server = Receiver()
    server.start()
    yield server
    server.stop()


def test_an_administrator_creates_a_subscription_copies_the_secret_once_and_sends_a_test(
    page, live_server, screenshot_dir, local_receiver
):
    get_user_model().objects.create_superuser("admin", password="browser-pw-123")
    admin_login(page, live_server.url, "admin", "browser-pw-123")

    page.goto(f"{live_server.url}/admin/webhooks/webhooksubscription/add/")
    page.fill("#id_name", "ERP receiver")
    page.fill("#id_url", local_receiver.url)
    page.check("input[name=events][value='ncr.created']")
    page.check("input[name=events][value='ncr.closed']")
    page.click("input[name=_save]")
    page.wait_for_selector("input.shown-once-secret")
    secret = page.input_value("input.shown-once-secret")
    page.click("button.copy-secret")
    page.wait_for_selector("text=Copied")
    page.screenshot(path=str(screenshot_dir / "admin-webhook-secret.png"), full_page=True)
    assert secret.startswith("whsec_")

    page.reload()
    assert page.locator("input.shown-once-secret").count() == 0 and secret not in page.content()
    assert WebhookSubscription.objects.count() == 1

    subscription = WebhookSubscription.objects.get()
    page.goto(f"{live_server.url}/admin/webhooks/webhooksubscription/{subscription.pk}/change/")
    assert secret not in page.content()
    page.click("a.object-action-send-test")
    page.wait_for_selector("#confirm-action")
    page.click("#confirm-action")
    page.wait_for_selector(".messagelist .success")
    assert "delivered (200)" in page.inner_text(".messagelist")

    page.goto(f"{live_server.url}/admin/webhooks/webhookdelivery/")
    log = page.inner_text("#result_list")
    page.screenshot(path=str(screenshot_dir / "admin-webhook-delivery-log.png"), full_page=True)
    assert "webhook.test" in log and "Succeeded" in log
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", log)  # times to the second
    [request] = local_receiver.requests
    assert Webhook(secret).verify(request.body, request.headers)["event"] == "webhook.test"
    assert WebhookDelivery.objects.get().status == "succeeded"
