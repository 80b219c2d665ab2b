"""Admin screens for subscriptions and the delivery log go through the services."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from quality import services as quality
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db

SECRET = re.compile(r'class="vLargeTextField shown-once-secret"[^>]*value="(whsec_[^"]+)"', re.S)


def shown_secrets(client, response) -> list[str]:
    """Follow the redirect of a POST that made secrets to the page that shows them once."""
    assert response.status_code == 302, response.content[:500]
    return SECRET.findall(client.get(response["Location"]).content.decode())


@pytest.fixture
def admin_client_logged_in(client):
    get_user_model().objects.create_superuser("boss", password="pw-12345678")
    client.login(username="boss", password="pw-12345678")
    return client


def add_form(url, **overrides):
    return {
        "name": "ERP",
        "url": url,
        "events": ["ncr.created", "ncr.closed"],
        "is_active": "on",
        "retry_enabled": "on",
        "max_retries": "5",
        "retry_delay_seconds": "60",
        "custom_headers": '{"X-Api-Key": "k-123"}',
        **overrides,
    }


def test_adding_a_subscription_shows_its_secret_once_with_a_copy_button(
    admin_client_logged_in, receiver
):
    response = admin_client_logged_in.post(
        "/admin/webhooks/webhooksubscription/add/", add_form(receiver.url)
    )
    page = admin_client_logged_in.get(response["Location"])
    reloaded = admin_client_logged_in.get(response["Location"])

    [secret] = SECRET.findall(page.content.decode())
    assert 'class="button copy-secret"' in page.content.decode()
    assert "no-store" in page["Cache-Control"] and "no-store" in reloaded["Cache-Control"]
    assert SECRET.findall(reloaded.content.decode()) == []
    assert "Nothing to show" in reloaded.content.decode()
    subscription = WebhookSubscription.objects.get()  # the reload created nothing
    assert subscription.events == ["ncr.created", "ncr.closed"]
    change = admin_client_logged_in.get(
        f"/admin/webhooks/webhooksubscription/{subscription.pk}/change/"
    ).content.decode()
    assert secret not in change and "k-123" not in change and "********" in change
    assert 'id="delivery-chart"' in change


def test_the_add_form_refuses_private_urls_and_reserved_headers(admin_client_logged_in, settings):
    response = admin_client_logged_in.post(
        "/admin/webhooks/webhooksubscription/add/",
        add_form("http://10.0.0.1/hook", custom_headers='{"webhook-id": "x"}'),
    )

    page = response.content.decode()
    assert response.status_code == 200 and "WEBHOOK_ALLOWED_NETWORKS" in page
    assert "cannot be overridden" in page
    assert not WebhookSubscription.objects.exists()


def test_the_add_form_refuses_a_header_value_http_cannot_send(admin_client_logged_in, receiver):
    response = admin_client_logged_in.post(
        "/admin/webhooks/webhooksubscription/add/",
        add_form(receiver.url, custom_headers='{"X-Api-Key": "k\\r\\nX-Evil: 1"}'),
    )

    page = response.content.decode()
    assert response.status_code == 200 and "The value of X-Api-Key holds a control" in page
    assert not WebhookSubscription.objects.exists()


def test_the_test_action_sends_and_reports(admin_client_logged_in, make_subscription, receiver):
    subscription, secret = make_subscription()

    response = admin_client_logged_in.post(
        "/admin/webhooks/webhooksubscription/",
        {"action": "send_test", "_selected_action": [subscription.pk]},
        follow=True,
    )

    assert "Test to ERP: delivered (200) in" in response.content.decode()
    assert Webhook(secret).verify(receiver.requests[0].body, receiver.requests[0].headers)


def test_regenerating_selected_secrets_asks_for_the_grace_and_shows_the_new_one_once(
    admin_client_logged_in, make_subscription, receiver
):
    subscription, old = make_subscription()
    chosen = {"action": "regenerate_secret", "_selected_action": [subscription.pk]}

    asked = admin_client_logged_in.post("/admin/webhooks/webhooksubscription/", chosen)
    response = admin_client_logged_in.post(
        "/admin/webhooks/webhooksubscription/", {**chosen, "confirmed": "yes", "grace_hours": "24"}
    )

    assert 'name="grace_hours"' in asked.content.decode()
    [new] = shown_secrets(admin_client_logged_in, response)
    assert new != old
    services.subscription_send_test(subscription=subscription)
    request = receiver.requests[0]
    Webhook(new).verify(request.body, request.headers)
    Webhook(old).verify(request.body, request.headers)  # grace period


def test_the_regenerate_button_with_no_grace_stops_the_old_secret(
    admin_client_logged_in, make_subscription, receiver
):
    subscription, old = make_subscription()
    url = f"/admin/webhooks/webhooksubscription/{subscription.pk}/regenerate-secret/"

    change = admin_client_logged_in.get(
        f"/admin/webhooks/webhooksubscription/{subscription.pk}/change/"
    ).content.decode()
    confirm = admin_client_logged_in.get(url).content.decode()
    [new] = shown_secrets(
        admin_client_logged_in, admin_client_logged_in.post(url, {"grace_hours": "0"})
    )

    assert f'href="{url}"' in change and 'name="grace_hours"' in confirm
    services.subscription_send_test(subscription=subscription)
    request = receiver.requests[0]
    Webhook(new).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(request.body, request.headers)


def test_the_send_test_button_confirms_then_reports_the_answer(
    admin_client_logged_in, make_subscription, receiver
):
    subscription, _ = make_subscription()
    receiver.respond(500)
    url = f"/admin/webhooks/webhooksubscription/{subscription.pk}/send-test/"

    confirm = admin_client_logged_in.get(url)
    response = admin_client_logged_in.post(url, follow=True)

    assert "Send a signed webhook.test event" in confirm.content.decode()
    assert len(receiver.requests) == 1
    page = response.content.decode()
    assert re.search(r"Test to ERP: the receiver answered 500 in \d+ ms\.<", page), page[-3000:]


def test_disable_and_enable_actions_record_and_clear_the_reason(
    admin_client_logged_in, make_subscription
):
    subscription, _ = make_subscription()
    changelist = "/admin/webhooks/webhooksubscription/"

    admin_client_logged_in.post(
        changelist, {"action": "disable", "_selected_action": [subscription.pk]}
    )
    subscription.refresh_from_db()
    assert not subscription.is_active and subscription.disabled_reason == "Disabled by boss."
    assert "Disabled by boss." in admin_client_logged_in.get(changelist).content.decode()

    admin_client_logged_in.post(
        changelist, {"action": "enable", "_selected_action": [subscription.pk]}
    )
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.disabled_reason == ""


def test_the_delivery_log_filters_shows_attempts_and_retries(
    admin_client_logged_in, make_subscription, receiver
):
    make_subscription(max_retries=0)
    receiver.respond((500, {}, "receiver exploded"))
    quality.ncr_create(title="A")
    delivery = WebhookDelivery.objects.get()
    services.delivery_attempt(delivery_id=delivery.pk)

    failed = admin_client_logged_in.get("/admin/webhooks/webhookdelivery/?status__exact=failed")
    detail = admin_client_logged_in.get(f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/")
    response = admin_client_logged_in.post(
        "/admin/webhooks/webhookdelivery/",
        {"action": "retry_now", "_selected_action": [delivery.pk]},
        follow=True,
    )

    assert "ncr.created" in failed.content.decode()
    assert "receiver exploded" in detail.content.decode()
    assert re.search(
        rf"Delivery {delivery.pk}: delivered \(200\) in \d+ ms\.<", response.content.decode()
    )
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts.count() == 2


def test_the_subscription_page_charts_fourteen_days_by_outcome(
    admin_client_logged_in, make_subscription, receiver
):
    subscription, _ = make_subscription(retry_enabled=False)
    receiver.respond(500)
    quality.ncr_create(title="A")
    quality.ncr_create(title="B")
    for delivery in WebhookDelivery.objects.order_by("id"):
        services.delivery_attempt(delivery_id=delivery.pk)

    page = admin_client_logged_in.get(
        f"/admin/webhooks/webhooksubscription/{subscription.pk}/change/"
    ).content.decode()

    assert page.count('class="bar-failed"') == 1 and page.count('class="bar-succeeded"') == 1
    assert "1 succeeded, 1 failed" in page
    assert "success rate 50 %" in page


def test_deliveries_and_their_attempts_show_their_times_to_the_second(
    admin_client_logged_in, make_subscription, receiver
):
    make_subscription()
    quality.ncr_create(title="A")
    delivery = WebhookDelivery.objects.get()
    services.delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    attempt = delivery.attempts.get()

    listed = admin_client_logged_in.get("/admin/webhooks/webhookdelivery/").content.decode()
    detail = admin_client_logged_in.get(
        f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/"
    ).content.decode()

    def shown(moment) -> str:
        return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")

    assert shown(delivery.created_at) in listed
    assert shown(delivery.created_at) in detail and shown(delivery.completed_at) in detail
    assert shown(attempt.started_at) in detail


def test_the_retry_button_of_a_failed_delivery_sends_it_again_and_says_so_once(
    admin_client_logged_in, make_subscription, receiver
):
    make_subscription(max_retries=0)
    receiver.respond((500, {}, "receiver exploded"))
    quality.ncr_create(title="A")
    delivery = WebhookDelivery.objects.get()
    services.delivery_attempt(delivery_id=delivery.pk)
    receiver.respond((503, {}, "still down"))
    url = f"/admin/webhooks/webhookdelivery/{delivery.pk}/retry/"

    detail = admin_client_logged_in.get(
        f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/"
    ).content.decode()
    response = admin_client_logged_in.post(url, follow=True)

    assert f'href="{url}"' in detail
    page = response.content.decode()
    assert re.search(rf"Delivery {delivery.pk}: the receiver answered 503 in \d+ ms\.<", page)
    assert ".." not in re.search(r'<ul class="messagelist">.*?</ul>', page, re.S).group(0)
    assert delivery.attempts.count() == 2


def test_retrying_a_delivery_that_fails_again_says_why_in_one_sentence(
    admin_client_logged_in, make_subscription, receiver
):
    make_subscription(max_retries=0)
    receiver.respond(500, 500)
    quality.ncr_create(title="A")
    delivery = WebhookDelivery.objects.get()
    services.delivery_attempt(delivery_id=delivery.pk)

    response = admin_client_logged_in.post(
        "/admin/webhooks/webhookdelivery/",
        {"action": "retry_now", "_selected_action": [delivery.pk]},
        follow=True,
    )

    text = response.content.decode()
    assert re.search(rf"Delivery {delivery.pk}: the receiver answered 500 in \d+ ms\.", text)
    assert "500.." not in text


@pytest.fixture
def webhook_manager(client):
    """Someone who may manage webhooks in the admin but may not view NCRs or CAPAs."""
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user("hooks", password="pw-12345678", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="webhooks", codename__endswith="webhooksubscription"
        )
    )
    client.login(username="hooks", password="pw-12345678")
    return client


def test_a_person_who_may_not_view_ncrs_or_capas_cannot_subscribe_to_their_events_in_the_admin(
    webhook_manager, receiver
):
    from audit.models import AuditEvent

    response = webhook_manager.post(
        "/admin/webhooks/webhooksubscription/add/",
        add_form(receiver.url, events=["ncr.created", "capa.closed", "webhook.delivery.exhausted"]),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["events"]
    assert errors["events"][0].startswith("capa.closed, ncr.created carry what only their readers")
    assert not WebhookSubscription.objects.exists()
    assert not AuditEvent.objects.filter(object_type="webhook_subscription").exists()


def test_the_same_person_may_subscribe_to_the_events_that_carry_no_records(
    webhook_manager, receiver
):
    response = webhook_manager.post(
        "/admin/webhooks/webhooksubscription/add/",
        add_form(receiver.url, events=["webhook.delivery.exhausted"]),
    )

    assert response.status_code == 302
    assert WebhookSubscription.objects.get().events == ["webhook.delivery.exhausted"]


def change_form(subscription, **overrides) -> dict:
    return {
        **add_form(subscription.url, events=subscription.events, custom_headers="{}"),
        "name": subscription.name,
        **overrides,
    }


def test_a_person_who_may_not_view_ncrs_cannot_aim_an_ncr_subscription_at_another_url(
    webhook_manager, make_subscription, receiver
):
    subscription, _ = make_subscription(events=["ncr.created"])
    url = f"/admin/webhooks/webhooksubscription/{subscription.pk}/change/"

    moved = webhook_manager.post(url, change_form(subscription, url=receiver.url + "/other"))
    retuned = webhook_manager.post(url, change_form(subscription, max_retries="2"))

    assert moved.status_code == 200
    assert "ncr.created carry what only their readers" in str(
        moved.context["adminform"].form.errors["events"]
    )
    assert retuned.status_code == 302  # other settings of it stay theirs to change
    subscription.refresh_from_db()
    assert (subscription.url, subscription.max_retries) == (receiver.url, 2)


def test_a_person_who_may_view_ncrs_and_capas_may_subscribe_to_them(webhook_manager, receiver):
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.get(username="hooks")
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_ncr", "view_capa"]))

    response = webhook_manager.post(
        "/admin/webhooks/webhooksubscription/add/",
        add_form(receiver.url, events=["ncr.created", "capa.closed"]),
    )

    assert response.status_code == 302
    assert WebhookSubscription.objects.get().events == ["ncr.created", "capa.closed"]
