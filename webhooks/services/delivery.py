"""Attempts of deliveries: claim them atomically, sign, POST through the guard, record.

A claim is a conditional UPDATE that only one worker can win; it sets a lease. A worker that
dies leaves the lease to expire and the sweeper hands the delivery to another worker. The
claim's token guards the final write, so a late finisher cannot overwrite the new owner.

A task takes several deliveries at once (the deliveries of one event, or a sweep's batch):
one UPDATE claims them all under one token, one SELECT loads them, they are sent side by side
(a slow receiver delays only its own receipt), and their outcomes are written together
(attempts.py). Database work per delivery is thereby a fraction of a round trip.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from webhooks.http_client import HttpResult, post_guarded
from webhooks.models import EventType, WebhookAttempt, WebhookDelivery
from webhooks.services.attempts import attempts_record
from webhooks.services.circuit import circuit_hold_back
from webhooks.services.queue import delivery_schedule
from webhooks.services.subscriptions import custom_headers_of, secrets_in_use
from webhooks.services.throttle import throttle_admit
from webhooks.signing import signed_headers

Status = WebhookDelivery.Status
logger = logging.getLogger(__name__)
SENDERS = 16  # concurrent POSTs of one process's batches (I/O: threads wait on receivers)

_senders: tuple[int, ThreadPoolExecutor] | None = None


def due_filter(now: datetime) -> Q:
    return Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Status.DELIVERING, lease_expires_at__lt=now
    )


def deliveries_claim(*, delivery_ids: list[int], now: datetime) -> str | None:
    """Take those of the deliveries that are due (or whose lease expired) under one new lease
    token; the token, or None when none was taken."""
    token = uuid.uuid4().hex
    claimed = WebhookDelivery.objects.filter(due_filter(now), pk__in=delivery_ids).update(
        status=Status.DELIVERING,
        lease_token=token,
        lease_expires_at=now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS),
        enqueued_at=None,
        attempt_count=F("attempt_count") + 1,
    )
    if claimed < len(delivery_ids):
        _early_messages_dropped(delivery_ids, now)
    return token if claimed else None


def delivery_claim(*, delivery_id: int, now: datetime) -> str | None:
    """Take the delivery if it is due (or its lease expired); the lease token, or None."""
    return deliveries_claim(delivery_ids=[delivery_id], now=now)


def delivery_attempt(
    *, delivery_id: int, allow_retry: bool = True, manual: bool = False
) -> WebhookAttempt | None:
    """Make one attempt if the delivery is due and nobody else holds it; the recorded attempt,
    or None when there was nothing to do (already done, not due, held by another worker, or
    waiting for its subscription's circuit breaker)."""
    attempts = deliveries_attempt(
        delivery_ids=[delivery_id], allow_retry=allow_retry, manual=manual
    )
    return attempts[0] if attempts else None


def deliveries_attempt(
    *, delivery_ids: list[int], allow_retry: bool = True, manual: bool = False
) -> list[WebhookAttempt]:
    """One attempt of each of the deliveries that is due and held by nobody else; the recorded
    attempts (none for those there was nothing to do for). An open circuit breaker holds its
    subscription's deliveries back (circuit.py) unless the attempt is `manual` (a person
    asked for it now)."""
    now = timezone.now()
    token = deliveries_claim(delivery_ids=delivery_ids, now=now)
    if token is None:
        return []
    claimed = list(
        WebhookDelivery.objects.filter(pk__in=delivery_ids, lease_token=token).select_related(
            "event", "subscription"
        )
    )
    to_send = [d for d in claimed if d.subscription.is_active or _is_test(d)]
    _not_sent_disabled([d for d in claimed if d not in to_send], token, now)
    if not manual:
        tests = [d for d in to_send if _is_test(d)]
        to_send = tests + circuit_hold_back([d for d in to_send if not _is_test(d)], token, now)
        to_send = throttle_admit(to_send, token, now)
    if not to_send:
        return []
    results = _send_all(to_send, now)
    attempts = attempts_record(
        token=token,
        started_at=now,
        outcomes=list(zip(to_send, results, strict=True)),
        allow_retry=allow_retry,
    )
    for delivery in to_send:
        if delivery.status == Status.PENDING:  # to be retried: send it when its backoff ends
            wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
            delivery_schedule(delivery.pk, max(wait, 0.0))
    return attempts


def _is_test(delivery: WebhookDelivery) -> bool:
    return delivery.event.event_type == EventType.TEST


def _not_sent_disabled(deliveries: list[WebhookDelivery], token: str, now: datetime) -> None:
    for delivery in deliveries:
        WebhookDelivery.objects.filter(pk=delivery.pk, lease_token=token).update(
            status=Status.FAILED,
            lease_expires_at=None,
            completed_at=now,
            last_error="Not sent: the subscription is disabled. "
            f"{delivery.subscription.disabled_reason}",
        )


def _early_messages_dropped(delivery_ids: list[int], now: datetime) -> None:
    """A message that arrived before its delivery was due (another host's clock ran ahead)
    was taken for nothing: say no message waits for the delivery, so the next sweep sends
    one, instead of waiting to find it lost."""
    WebhookDelivery.objects.filter(
        pk__in=delivery_ids,
        status=Status.PENDING,
        next_attempt_at__gt=now,
        enqueued_at__isnull=False,
    ).update(enqueued_at=None)


def _executor() -> ThreadPoolExecutor:
    """The process's sending threads (made anew in a forked child: threads do not survive)."""
    global _senders
    if _senders is None or _senders[0] != os.getpid():
        _senders = (os.getpid(), ThreadPoolExecutor(SENDERS, thread_name_prefix="webhook-send"))
    return _senders[1]


def _send_all(deliveries: list[WebhookDelivery], now: datetime) -> list[HttpResult]:
    if len(deliveries) == 1:
        return [_send(deliveries[0], now)]
    return list(_executor().map(lambda delivery: _send(delivery, now), deliveries))


def _send(delivery: WebhookDelivery, now: datetime) -> HttpResult:
    """Sign and POST (no database work: it runs in a sending thread). Anything unexpected (a
    bug, a broken setting, a library error) becomes a failed attempt retried like any other,
    so the delivery never stays `delivering`."""
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
