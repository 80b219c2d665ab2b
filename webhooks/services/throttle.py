"""Per-subscription throttling, across all workers: at most `max_in_flight` deliveries of a
subscription being sent at once, and at most `max_deliveries_per_second` started per second.

A worker checks the deliveries it has just claimed; those over a limit are given back (status
pending, due a moment later, the claim's attempt not counted: no attempt is spent) and sent
again with a countdown. In flight is counted in the database (deliveries `delivering`, on the
small status index; a dead worker's lease ends, so nothing leaks); the rate in the cache, one
counter per subscription and second, exact across all processes (Redis' atomic INCR; on the
embedded stack, eqms_integration.cache's file cache counts under a lock file every local
process shares). A cache that is down limits nothing rather than stopping deliveries.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, F
from django.utils import timezone

from webhooks.models import WebhookDelivery
from webhooks.services.queue import deliveries_enqueue

Status = WebhookDelivery.Status
logger = logging.getLogger(__name__)
IN_FLIGHT_RETRY_SECONDS = 1.0


def throttle_admit(
    deliveries: list[WebhookDelivery], token: str, now: datetime
) -> list[WebhookDelivery]:
    """The claimed deliveries that may be sent now; the others are given back for later."""
    by_subscription: dict[int, list[WebhookDelivery]] = defaultdict(list)
    for delivery in deliveries:
        by_subscription[delivery.subscription_id].append(delivery)
    in_flight = _in_flight(by_subscription)
    admitted: list[WebhookDelivery] = []
    later: dict[float, list[WebhookDelivery]] = defaultdict(list)
    for subscription_id, claimed in by_subscription.items():
        subscription = claimed[0].subscription
        # in_flight counts these claims too: the excess over the cap waits.
        room = max(
            len(claimed) - max(in_flight[subscription_id] - subscription.max_in_flight, 0), 0
        )
        claimed, waiting = claimed[:room], claimed[room:]
        later[IN_FLIGHT_RETRY_SECONDS] += waiting
        if subscription.max_deliveries_per_second and claimed:
            allowed = _rate_allowance(
                subscription_id, subscription.max_deliveries_per_second, len(claimed), now
            )
            claimed, waiting = claimed[:allowed], claimed[allowed:]
            later[1.0 - now.microsecond / 1e6] += waiting  # the start of the next second
        admitted += claimed
    for wait, waiting in later.items():
        _give_back(waiting, token, now + timedelta(seconds=wait), wait)
    return admitted


def _in_flight(by_subscription: dict[int, list[WebhookDelivery]]) -> dict[int, int]:
    rows = (
        WebhookDelivery.objects.filter(
            status=Status.DELIVERING, subscription_id__in=by_subscription
        )
        .values("subscription_id")
        .annotate(n=Count("id"))
    )
    counts = dict.fromkeys(by_subscription, 0)
    counts.update({row["subscription_id"]: row["n"] for row in rows})
    return counts


def _rate_allowance(subscription_id: int, per_second: int, wanted: int, now: datetime) -> int:
    """How many of `wanted` may start in this second (those are counted as started)."""
    key = f"webhooks:rate:{subscription_id}:{int(now.timestamp())}"
    try:
        cache.add(key, 0, timeout=5)
        used = cache.incr(key, wanted)
        allowed = min(wanted, max(per_second - (used - wanted), 0))
        if allowed < wanted:
            cache.decr(key, wanted - allowed)
    except Exception:  # the cache is down: deliver unthrottled rather than not at all
        logger.warning("webhook rate limits not applied: the cache did not answer")
        return wanted
    return allowed


def _give_back(deliveries: list[WebhookDelivery], token: str, due: datetime, wait: float) -> None:
    if not deliveries:
        return
    ids = [d.pk for d in deliveries]
    WebhookDelivery.objects.filter(pk__in=ids, lease_token=token, status=Status.DELIVERING).update(
        status=Status.PENDING,
        next_attempt_at=due,
        lease_expires_at=None,
        enqueued_at=timezone.now(),  # their messages (with a countdown) go out next
        attempt_count=F("attempt_count") - 1,
    )
    deliveries_enqueue(dict.fromkeys(ids, max(wait, 0.01)))
