"""The operator commands: send_test_webhook, retry_webhook_deliveries, prune_webhook_deliveries."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from quality import services as quality
from tests.webhooks.conftest import deliveries_handed_to_workers
from webhooks import services
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_send_test_webhook_sends_and_prints_the_status(make_subscription, receiver):
    subscription, _ = make_subscription()

    output = run("send_test_webhook", str(subscription.pk))

    assert "200 in" in output
    assert receiver.requests[0].headers["X-Webhook-Event"] == "webhook.test"


def test_send_test_webhook_fails_loudly(make_subscription, receiver):
    subscription, _ = make_subscription()
    receiver.respond(503)

    with pytest.raises(CommandError, match="failed"):
        run("send_test_webhook", str(subscription.pk))
    with pytest.raises(CommandError, match="No webhook subscription"):
        run("send_test_webhook", "999")


def test_retry_command_brings_waiting_deliveries_forward_and_failed_ones_back(
    make_subscription, receiver, django_capture_on_commit_callbacks
):
    subscription, _ = make_subscription(max_retries=1, retry_delay_seconds=3600)
    receiver.respond(500, 500, 500)
    for title in "AB":
        quality.ncr_create(title=title)
    waiting, gave_up = WebhookDelivery.objects.order_by("id")
    services.delivery_attempt(delivery_id=waiting.pk)
    services.delivery_attempt(delivery_id=gave_up.pk)
    WebhookDelivery.objects.filter(pk=gave_up.pk).update(next_attempt_at=timezone.now())
    services.delivery_attempt(delivery_id=gave_up.pk)
    assert list(WebhookDelivery.objects.order_by("id").values_list("status", flat=True)) == [
        "pending",
        "failed",
    ]

    with django_capture_on_commit_callbacks(execute=True):
        output = run("retry_webhook_deliveries", "--subscription", str(subscription.pk))
    assert "Enqueued 1" in output and deliveries_handed_to_workers() == [waiting.pk]
    with django_capture_on_commit_callbacks(execute=True):
        output = run("retry_webhook_deliveries", "--failed", "--since", "2020-01-01T00:00:00Z")
    assert "Enqueued 2" in output
    assert sorted(deliveries_handed_to_workers()) == [waiting.pk, gave_up.pk]

    for delivery_id in (waiting.pk, gave_up.pk):
        services.delivery_attempt(delivery_id=delivery_id)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}
    with pytest.raises(CommandError, match="ISO 8601"):
        run("retry_webhook_deliveries", "--since", "yesterday")


def test_prune_is_a_dry_run_unless_committed_and_keeps_pending_work(make_subscription, receiver):
    make_subscription()
    for title in "ABC":
        quality.ncr_create(title=title)
    done, waiting, recent = WebhookDelivery.objects.order_by("id")
    services.delivery_attempt(delivery_id=done.pk)
    services.delivery_attempt(delivery_id=recent.pk)
    old = timezone.now() - timedelta(days=40)
    for delivery in (done, waiting):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(created_at=old)
        WebhookEvent.objects.filter(pk=delivery.event_id).update(created_at=old)

    dry = run("prune_webhook_deliveries", "--older-than-days", "30")
    assert "Would delete" in dry and "1 deliveries, 1 attempts, 1 events" in dry
    assert WebhookDelivery.objects.count() == 3

    real = run("prune_webhook_deliveries", "--older-than-days", "30", "--commit")
    assert "Deleted 1 deliveries, 1 attempts, 1 events" in real
    assert set(WebhookDelivery.objects.values_list("id", flat=True)) == {waiting.pk, recent.pk}
    assert WebhookAttempt.objects.count() == 1 and WebhookEvent.objects.count() == 2
    with pytest.raises(CommandError):
        run("prune_webhook_deliveries", "--older-than-days", "0")
