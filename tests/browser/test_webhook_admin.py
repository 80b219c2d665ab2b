"""A person sets up a webhook in the admin: the secret is shown once, a test goes out and
shows up in the delivery log."""

from __future__ import annotations

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


def test_an_administrator_creates_a_subscription_sees_the_secret_once_and_sends_a_test(
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
    secret = page.input_value("input.shown-once-secret")
    page.screenshot(path=str(screenshot_dir / "admin-webhook-secret.png"), full_page=True)
    assert secret.startswith("whsec_")

    subscription = WebhookSubscription.objects.get()
    page.goto(f"{live_server.url}/admin/webhooks/webhooksubscription/{subscription.pk}/change/")
    assert secret not in page.content()

    page.goto(f"{live_server.url}/admin/webhooks/webhooksubscription/")
    page.check(f"input[name=_selected_action][value='{subscription.pk}']")
    page.select_option("select[name=action]", "send_test")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist .success")
    assert "delivered (200)" in page.inner_text(".messagelist")

    page.goto(f"{live_server.url}/admin/webhooks/webhookdelivery/")
    log = page.inner_text("#result_list")
    page.screenshot(path=str(screenshot_dir / "admin-webhook-delivery-log.png"), full_page=True)
    assert "webhook.test" in log and "Succeeded" in log
    [request] = local_receiver.requests
    assert Webhook(secret).verify(request.body, request.headers)["event"] == "webhook.test"
    assert WebhookDelivery.objects.get().status == "succeeded"
