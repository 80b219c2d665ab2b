"""The outbox: an event and its deliveries are written in the caller's transaction, so a
rolled-back change sends nothing and a committed one is never lost."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from webhooks.services.queue import deliveries_enqueue_on_commit
from webhooks.services.subscriptions import subscriptions_for_event


def message_id_new() -> str:
    return f"msg_{uuid.uuid4().hex}"


def _event_create(*, event_type: str, data: dict[str, Any]) -> WebhookEvent:
    now = timezone.now()
    message_id = message_id_new()
    body = {"id": message_id, "event": event_type, "timestamp": now.isoformat(), "data": data}
    return WebhookEvent.objects.create(
        message_id=message_id,
        event_type=event_type,
        payload=json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":")),
        created_at=now,
    )


def _deliveries_create(event: WebhookEvent, subscriptions: list[WebhookSubscription]) -> list[int]:
    now = event.created_at
    created = WebhookDelivery.objects.bulk_create(
        [
            # enqueued_at now: the on-commit task is on its way; the sweeper waits for it.
            WebhookDelivery(
                event=event, subscription=s, next_attempt_at=now, enqueued_at=now, created_at=now
            )
            for s in subscriptions
        ]
    )
    if all(delivery.pk is not None for delivery in created):  # PostgreSQL, SQLite, MariaDB
        return [delivery.pk for delivery in created]
    # Re-read the ids: not every backend returns them from bulk_create.
    return list(WebhookDelivery.objects.filter(event=event).values_list("id", flat=True))


@transaction.atomic
def event_publish(*, event_type: str, data: dict[str, Any]) -> WebhookEvent | None:
    """Record `event_type` for every active subscription to it, in the current transaction;
    delivery is enqueued when it commits. None when nobody subscribes (nothing is stored)."""
    subscriptions = list(subscriptions_for_event(event_type))
    if not subscriptions:
        return None
    event = _event_create(event_type=event_type, data=data)
    deliveries_enqueue_on_commit(_deliveries_create(event, subscriptions))
    return event


@transaction.atomic
def test_event_create(*, subscription: WebhookSubscription) -> WebhookDelivery:
    """A webhook.test event and its one delivery, for a subscription active or not."""
    event = _event_create(
        event_type="webhook.test",
        data={"subscription_id": subscription.pk, "message": "Test delivery from E-QMS."},
    )
    [delivery_id] = _deliveries_create(event, [subscription])
    return WebhookDelivery.objects.select_related("event", "subscription").get(pk=delivery_id)
