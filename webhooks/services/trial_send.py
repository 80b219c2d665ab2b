"""The test send: a webhook.test event to one subscription on request (REST, admin, command),
sent at once through the guarded client, one attempt and no retries."""

from __future__ import annotations

from webhooks.models import WebhookAttempt, WebhookSubscription
from webhooks.services.delivery import delivery_attempt
from webhooks.services.publishing import test_event_create


def subscription_send_test(*, subscription: WebhookSubscription) -> WebhookAttempt:
    """Send webhook.test now through the guarded client (one attempt, no retries)."""
    delivery = test_event_create(subscription=subscription)
    attempt = delivery_attempt(delivery_id=delivery.pk, allow_retry=False)
    if attempt is None:  # a sweeper's worker took it within the same instant
        attempt = WebhookAttempt.objects.filter(delivery=delivery).latest("id")
    return attempt
