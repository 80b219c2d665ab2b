"""One attempt of one delivery: claim it atomically, sign, POST through the guard, record.

A claim is a conditional UPDATE that only one worker can win; it sets a lease. A worker that
dies leaves the lease to expire and the sweeper hands the delivery to another worker. The
claim's token guards the final write, so a late finisher cannot overwrite the new owner.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from webhooks.http_client import HttpResult, post_guarded
from webhooks.models import EventType, WebhookAttempt, WebhookDelivery
from webhooks.services.attempts import attempt_record
from webhooks.services.queue import delivery_schedule
from webhooks.services.subscriptions import custom_headers_of, secrets_in_use
from webhooks.signing import signed_headers

Status = WebhookDelivery.Status
logger = logging.getLogger(__name__)


def due_filter(now: datetime) -> Q:
    return Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Status.DELIVERING, lease_expires_at__lt=now
    )


def delivery_claim(*, delivery_id: int, now: datetime) -> str | None:
    """Take the delivery if it is due (or its lease expired); the lease token, or None."""
    token = uuid.uuid4().hex
    claimed = WebhookDelivery.objects.filter(due_filter(now), pk=delivery_id).update(
        status=Status.DELIVERING,
        lease_token=token,
        lease_expires_at=now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS),
        enqueued_at=None,
        attempt_count=F("attempt_count") + 1,
    )
    return token if claimed else None


def delivery_attempt(*, delivery_id: int, allow_retry: bool = True) -> WebhookAttempt | None:
    """Make one attempt if the delivery is due and nobody else holds it; the recorded attempt,
    or None when there was nothing to do (already done, not due, or held by another worker)."""
    now = timezone.now()
    token = delivery_claim(delivery_id=delivery_id, now=now)
    if token is None:
        _early_message_dropped(delivery_id, now)
        return None
    delivery = WebhookDelivery.objects.select_related("event", "subscription").get(pk=delivery_id)
    subscription = delivery.subscription
    event = delivery.event
    is_test = event.event_type == EventType.TEST
    if not subscription.is_active and not is_test:
        WebhookDelivery.objects.filter(pk=delivery_id, lease_token=token).update(
            status=Status.FAILED,
            lease_expires_at=None,
            completed_at=now,
            last_error=f"Not sent: the subscription is disabled. {subscription.disabled_reason}",
        )
        return None
    result = _send(delivery, now)
    attempt = attempt_record(
        delivery=delivery,
        token=token,
        started_at=now,
        result=result,
        allow_retry=allow_retry and not is_test,
    )
    if delivery.status == Status.PENDING:  # to be retried: send it when its backoff ends
        wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
        delivery_schedule(delivery_id, max(wait, 0.0))
    return attempt


def _early_message_dropped(delivery_id: int, now: datetime) -> None:
    """A message that arrived before its delivery was due (another host's clock ran ahead)
    was taken for nothing: say no message waits for the delivery, so the next sweep sends
    one, instead of waiting to find it lost."""
    WebhookDelivery.objects.filter(
        pk=delivery_id, status=Status.PENDING, next_attempt_at__gt=now, enqueued_at__isnull=False
    ).update(enqueued_at=None)


def _send(delivery: WebhookDelivery, now: datetime) -> HttpResult:
    """Sign and POST. Anything unexpected (a bug, a broken setting, a library error) becomes a
    failed attempt retried like any other, so the delivery never stays `delivering`."""
    started = time.monotonic()
    subscription, event = delivery.subscription, delivery.event
    try:
        headers = signed_headers(
            secrets_in_use=secrets_in_use(subscription, now=now),
            message_id=event.message_id,
            timestamp=int(now.timestamp()),
            body=event.payload,
            event_type=event.event_type,
            attempt=delivery.attempt_count,
            custom_headers=custom_headers_of(subscription),
        )
        return post_guarded(url=subscription.url, body=event.payload.encode(), headers=headers)
    except Exception as exc:
        logger.exception("Webhook delivery %s failed unexpectedly", delivery.pk)
        duration_ms = int((time.monotonic() - started) * 1000)
        return HttpResult(None, "", f"{type(exc).__name__}: {exc}", duration_ms, {})
