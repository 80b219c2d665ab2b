"""One delivery attempt against a real receiver: signatures, headers, outcomes, retries."""

from __future__ import annotations

import json
import sys
from datetime import timedelta

import pytest
import urllib3
from django.utils import timezone
from standardwebhooks import Webhook

from eqms_integration import encryption
from quality import services as quality
from webhooks import services
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from webhooks.signing import body_signature

pytestmark = pytest.mark.django_db


def only_delivery() -> WebhookDelivery:
    return WebhookDelivery.objects.select_related("event", "subscription").get()


def test_a_delivery_is_signed_so_the_standardwebhooks_library_verifies_it(
    make_subscription, receiver
):
    _, secret = make_subscription()
    ncr = quality.ncr_create(title="Crack in weld")

    attempt = services.delivery_attempt(delivery_id=only_delivery().pk)

    assert attempt.succeeded and attempt.status_code == 200
    [request] = receiver.requests
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["event"] == "ncr.created"
    assert payload["data"]["number"] == ncr.number
    assert payload["id"] == request.headers["webhook-id"] == only_delivery().event.message_id
    assert request.headers["webhook-id"].startswith("msg_")
    assert request.headers["X-Webhook-Signature"] == body_signature(
        secret=secret, body=request.body
    )
    assert request.headers["X-Webhook-Event"] == "ncr.created"
    assert request.headers["X-Webhook-Delivery-Attempt"] == "1"
    assert request.headers["User-Agent"] == "E-QMS-Webhook/1.0"
    assert request.headers["Content-Type"] == "application/json"
    assert only_delivery().status == "succeeded"


def test_a_wrong_secret_does_not_verify(make_subscription, receiver):
    make_subscription()
    quality.ncr_create(title="A")
    services.delivery_attempt(delivery_id=only_delivery().pk)

    other, _ = make_subscription()
    other_secret = services.subscription_regenerate_secret(
        subscription=other, grace_period_seconds=0
    )
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(other_secret).verify(receiver.requests[0].body, receiver.requests[0].headers)


def test_custom_headers_are_sent_next_to_the_signature_headers(make_subscription, receiver):
    make_subscription(custom_headers={"Authorization": "Bearer abc", "X-Tenant": "plant-7"})
    quality.ncr_create(title="A")

    services.delivery_attempt(delivery_id=only_delivery().pk)

    headers = receiver.requests[0].headers
    assert (headers["Authorization"], headers["X-Tenant"]) == ("Bearer abc", "plant-7")


def test_during_a_rotation_both_the_old_and_the_new_secret_verify(make_subscription, receiver):
    subscription, old_secret = make_subscription()
    new_secret = services.subscription_regenerate_secret(
        subscription=subscription, grace_period_seconds=3600
    )
    quality.ncr_create(title="A")

    services.delivery_attempt(delivery_id=only_delivery().pk)

    request = receiver.requests[0]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(old_secret).verify(request.body, request.headers)
    Webhook(new_secret).verify(request.body, request.headers)
    assert request.headers["X-Webhook-Signature"] == body_signature(
        secret=new_secret, body=request.body
    )
    assert request.headers["X-Webhook-Signature-Previous"] == body_signature(
        secret=old_secret, body=request.body
    )


def test_a_custom_header_stored_under_the_previous_signatures_name_never_replaces_it(
    make_subscription, receiver
):
    subscription, old_secret = make_subscription()
    WebhookSubscription.objects.filter(pk=subscription.pk).update(  # saved before the rule
        custom_headers_encrypted=encryption.encrypt(
            json.dumps({"X-Webhook-Signature-Previous": "forged", "X-Tenant": "7"})
        )
    )
    subscription.refresh_from_db()
    services.subscription_regenerate_secret(subscription=subscription, grace_period_seconds=60)
    quality.ncr_create(title="A")

    services.delivery_attempt(delivery_id=only_delivery().pk)

    headers = receiver.requests[0].headers
    assert headers["X-Tenant"] == "7"
    assert headers["X-Webhook-Signature-Previous"] == body_signature(
        secret=old_secret, body=receiver.requests[0].body
    )


def test_after_the_grace_period_only_the_new_secret_signs(make_subscription, receiver):
    subscription, old_secret = make_subscription()
    new_secret = services.subscription_regenerate_secret(
        subscription=subscription, grace_period_seconds=60
    )
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    quality.ncr_create(title="A")

    services.delivery_attempt(delivery_id=only_delivery().pk)

    request = receiver.requests[0]
    assert " " not in request.headers["webhook-signature"]
    assert "X-Webhook-Signature-Previous" not in request.headers
    Webhook(new_secret).verify(request.body, request.headers)
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(old_secret).verify(request.body, request.headers)


def test_a_failed_attempt_schedules_a_retry_after_the_configured_delay_with_jitter(
    make_subscription, receiver
):
    make_subscription(retry_delay_seconds=100)
    receiver.respond((500, {}, "database down"))
    quality.ncr_create(title="A")

    attempt = services.delivery_attempt(delivery_id=only_delivery().pk)

    delivery = only_delivery()
    assert (delivery.status, delivery.attempt_count, delivery.last_status_code) == (
        "pending",
        1,
        500,
    )
    delay = (delivery.next_attempt_at - attempt.started_at).total_seconds()
    assert 80 <= delay <= 121
    assert attempt.response_body == "database down" and not attempt.succeeded
    # Not due yet: a second attempt now does nothing.
    assert services.delivery_attempt(delivery_id=delivery.pk) is None


def test_retries_back_off_exponentially_and_give_up_after_max_retries(make_subscription, receiver):
    subscription, _ = make_subscription(retry_delay_seconds=10, max_retries=2)
    receiver.respond(503, 503, 503)
    quality.ncr_create(title="A")
    delivery_id = only_delivery().pk
    delays = []
    for _ in range(3):
        attempt = services.delivery_attempt(delivery_id=delivery_id)
        delivery = only_delivery()
        if delivery.next_attempt_at:
            delays.append((delivery.next_attempt_at - attempt.started_at).total_seconds())
        WebhookDelivery.objects.filter(pk=delivery_id).update(next_attempt_at=timezone.now())

    delivery = only_delivery()
    assert (delivery.status, delivery.attempt_count) == ("failed", 3)
    assert 8 <= delays[0] <= 12.5 and 16 <= delays[1] <= 24.5
    assert [r.headers["X-Webhook-Delivery-Attempt"] for r in receiver.requests] == ["1", "2", "3"]
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 1 and subscription.is_active


def test_retry_after_from_the_receiver_is_honoured(make_subscription, receiver):
    make_subscription(retry_delay_seconds=10)
    receiver.respond((429, {"Retry-After": "600"}, "slow down"))
    quality.ncr_create(title="A")

    attempt = services.delivery_attempt(delivery_id=only_delivery().pk)

    delay = (only_delivery().next_attempt_at - attempt.started_at).total_seconds()
    assert 599 <= delay <= 601


def test_retry_after_beyond_a_day_is_capped_at_24_hours(make_subscription, receiver):
    make_subscription()
    receiver.respond((503, {"Retry-After": str(10 * 86400)}, ""))
    quality.ncr_create(title="A")

    attempt = services.delivery_attempt(delivery_id=only_delivery().pk)

    delay = (only_delivery().next_attempt_at - attempt.started_at).total_seconds()
    assert 86399 <= delay <= 86401


def test_410_gone_disables_the_subscription_and_says_why(make_subscription, receiver):
    subscription, _ = make_subscription()
    receiver.respond(410)
    quality.ncr_create(title="A")

    services.delivery_attempt(delivery_id=only_delivery().pk)

    subscription.refresh_from_db()
    assert not subscription.is_active
    assert "410 Gone" in subscription.disabled_reason
    assert only_delivery().status == "failed"
    # Disabled subscriptions receive no new events.
    quality.ncr_create(title="B")
    assert WebhookDelivery.objects.count() == 1


def test_a_redirect_is_a_failure_and_is_never_followed(make_subscription, receiver):
    make_subscription()
    receiver.respond((302, {"Location": "http://169.254.169.254/latest/meta-data/"}, ""))
    quality.ncr_create(title="A")

    attempt = services.delivery_attempt(delivery_id=only_delivery().pk)

    assert len(receiver.requests) == 1
    assert not attempt.succeeded and attempt.status_code == 302
    assert "not followed" in attempt.error and "169.254.169.254" in attempt.error
    assert only_delivery().status == "pending"


def test_a_slow_receiver_times_out_and_the_attempt_records_the_error(
    make_subscription, receiver, settings
):
    settings.WEBHOOK_READ_TIMEOUT_SECONDS = 1
    receiver.delay = 2
    make_subscription()
    quality.ncr_create(title="A")

    attempt = services.delivery_attempt(delivery_id=only_delivery().pk)

    assert attempt.status_code is None and "timed out" in attempt.error.lower()
    assert 900 <= attempt.duration_ms < 2500
    assert only_delivery().status == "pending"


@pytest.mark.skipif(sys.platform != "linux", reason="relies on Linux dropping SYNs to a full queue")
def test_a_receiver_that_never_accepts_the_connection_fails_after_the_connect_timeout(
    allow_loopback, unanswered_port, settings
):
    settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS = 1
    settings.WEBHOOK_READ_TIMEOUT_SECONDS = 30
    services.subscription_create(
        name="ERP", url=f"http://127.0.0.1:{unanswered_port}/hook", events=["ncr.created"]
    )
    quality.ncr_create(title="A")

    attempt = services.delivery_attempt(delivery_id=only_delivery().pk)

    assert attempt.status_code is None
    assert "ConnectTimeoutError" in attempt.error and "timed out" in attempt.error
    assert 900 <= attempt.duration_ms < 5000  # the connect timeout, far from the read timeout
    assert only_delivery().status == "pending"


def test_a_receiver_that_is_down_is_a_connection_error_that_is_retried(make_subscription, receiver):
    make_subscription()
    quality.ncr_create(title="A")
    receiver.stop()

    attempt = services.delivery_attempt(delivery_id=only_delivery().pk)

    assert attempt.status_code is None and attempt.error
    assert only_delivery().status == "pending"


def _http_edge_raises(monkeypatch, settings) -> str:
    def broken(*args, **kwargs):
        raise RuntimeError("the TLS library broke")

    monkeypatch.setattr(urllib3.HTTPConnectionPool, "urlopen", broken)
    return "RuntimeError: the TLS library broke"


def _allowlist_turns_bad(monkeypatch, settings) -> str:
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "10.0.0.0/33"]
    return "ValueError: '10.0.0.0/33' does not appear to be an IPv4 or IPv6 network"


@pytest.mark.parametrize("breakage", [_http_edge_raises, _allowlist_turns_bad])
def test_an_unexpected_error_while_sending_is_a_failed_attempt_retried_like_any_other(
    make_subscription, receiver, monkeypatch, settings, breakage
):
    make_subscription(retry_delay_seconds=100)
    quality.ncr_create(title="A")
    error = breakage(monkeypatch, settings)

    attempt = services.delivery_attempt(delivery_id=only_delivery().pk)

    assert (attempt.status_code, attempt.error, attempt.succeeded) == (None, error, False)
    delivery = only_delivery()
    assert (delivery.status, delivery.attempt_count, delivery.last_error) == ("pending", 1, error)
    assert delivery.lease_expires_at is None
    assert (
        timedelta(seconds=79) < delivery.next_attempt_at - timezone.now() <= timedelta(seconds=120)
    )
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 1
    assert receiver.requests == []


def test_only_the_first_5000_characters_of_the_answer_are_stored(make_subscription, receiver):
    make_subscription()
    receiver.respond((200, {}, "x" * 20000))
    quality.ncr_create(title="A")

    attempt = services.delivery_attempt(delivery_id=only_delivery().pk)

    assert attempt.succeeded and len(attempt.response_body) == 5000


def test_n_consecutive_failed_deliveries_disable_the_subscription(
    make_subscription, receiver, settings
):
    settings.WEBHOOK_MAX_CONSECUTIVE_FAILURES = 2
    subscription, _ = make_subscription(retry_enabled=False)
    receiver.respond(500, 500)
    quality.ncr_create(title="A")
    quality.ncr_create(title="B")

    for delivery in WebhookDelivery.objects.all():
        services.delivery_attempt(delivery_id=delivery.pk)

    subscription.refresh_from_db()
    assert not subscription.is_active
    assert "2 consecutive failed deliveries" in subscription.disabled_reason


def test_a_success_resets_the_failure_streak(make_subscription, receiver):
    subscription, _ = make_subscription(retry_enabled=False)
    receiver.respond(500)
    quality.ncr_create(title="A")
    quality.ncr_create(title="B")

    for delivery in WebhookDelivery.objects.order_by("id"):
        services.delivery_attempt(delivery_id=delivery.pk)

    subscription.refresh_from_db()
    assert (subscription.consecutive_failures, subscription.failing_since) == (0, None)


def test_five_days_of_only_failures_disable_the_subscription(make_subscription, receiver):
    subscription, _ = make_subscription()
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        failing_since=timezone.now() - timedelta(days=5, minutes=1)
    )
    receiver.respond(500)
    quality.ncr_create(title="A")

    services.delivery_attempt(delivery_id=only_delivery().pk)

    subscription.refresh_from_db()
    assert not subscription.is_active
    assert "5+ days" in subscription.disabled_reason


def test_a_delivery_whose_worker_died_is_claimed_again_after_its_lease_and_completes_once(
    make_subscription, receiver
):
    make_subscription()
    quality.ncr_create(title="A")
    delivery_id = only_delivery().pk
    dead_token = services.delivery_claim(delivery_id=delivery_id, now=timezone.now())
    assert dead_token  # a worker took it ... and was killed before sending anything

    assert services.deliveries_sweep() == 0  # the lease still runs: nobody else may take it
    assert services.delivery_attempt(delivery_id=delivery_id) is None
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    from webhooks.services.sweeper import deliveries_due

    assert deliveries_due(now=timezone.now()) == {delivery_id: 0.0}
    attempt = services.delivery_attempt(delivery_id=delivery_id)

    assert attempt.succeeded and attempt.number == 2
    assert len(receiver.requests) == 1
    assert only_delivery().status == "succeeded"
    assert services.delivery_attempt(delivery_id=delivery_id) is None
    assert deliveries_due(now=timezone.now() + timedelta(days=1)) == {}


def test_a_worker_that_lost_its_lease_cannot_overwrite_the_new_owners_result(
    make_subscription, receiver
):
    from webhooks.http_client import HttpResult
    from webhooks.services.attempts import attempt_record

    make_subscription()
    quality.ncr_create(title="A")
    delivery_id = only_delivery().pk
    stale_token = services.delivery_claim(delivery_id=delivery_id, now=timezone.now())
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert services.delivery_attempt(delivery_id=delivery_id).succeeded

    attempt_record(
        delivery=only_delivery(),
        token=stale_token,
        started_at=timezone.now(),
        result=HttpResult(500, "late", "", 5, {}),
        allow_retry=True,
    )

    assert only_delivery().status == "succeeded"
    assert WebhookAttempt.objects.count() == 2  # the late attempt is on record, nothing else


def test_the_payload_is_the_exact_stored_body(make_subscription, receiver):
    make_subscription()
    quality.ncr_create(title="Ünïcode title")

    services.delivery_attempt(delivery_id=only_delivery().pk)

    assert receiver.requests[0].body == only_delivery().event.payload
    assert json.loads(receiver.requests[0].body)["data"]["title"] == "Ünïcode title"


@pytest.mark.parametrize("value", ["plant ☃", "s3cret-7\r\nX-Injected: 1", "s3cret\x00"])
def test_a_stored_header_http_cannot_send_fails_the_attempt_naming_it_without_its_value(
    make_subscription, receiver, value
):
    subscription, _ = make_subscription()
    WebhookSubscription.objects.filter(pk=subscription.pk).update(  # saved before the rule
        custom_headers_encrypted=encryption.encrypt(json.dumps({"X-Tenant": value}))
    )
    quality.ncr_create(title="A")

    attempt = services.delivery_attempt(delivery_id=only_delivery().pk)

    assert attempt.status_code is None and "the header X-Tenant" in attempt.error
    assert "s3cret" not in attempt.error and "☃" not in attempt.error
    assert receiver.requests == []
