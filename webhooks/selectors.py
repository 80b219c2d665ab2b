"""Reads of the webhooks app that views, admin and commands share."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Min, Q, QuerySet

from webhooks.models import EventType, WebhookAttempt, WebhookDelivery, WebhookSubscription
from webhooks.services.delivery import due_filter


def deliveries_list(
    *, subscription: WebhookSubscription | None = None, status: str | None = None
) -> QuerySet[WebhookDelivery]:
    rows = WebhookDelivery.objects.select_related("event", "subscription").order_by(
        "-created_at", "-id"
    )
    if subscription is not None:
        rows = rows.filter(subscription=subscription)
    if status:
        rows = rows.filter(status=status)
    return rows


def delivery_detail(delivery_id: int) -> WebhookDelivery:
    return (
        WebhookDelivery.objects.select_related("event", "subscription")
        .prefetch_related("attempts")
        .get(pk=delivery_id)
    )


def backlog_counts(now: datetime) -> dict[str, int | None]:
    """Deliveries not yet finished, those due now, and the age of the oldest (one query)."""
    waiting = WebhookDelivery.objects.filter(
        status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.DELIVERING]
    )
    found = waiting.aggregate(
        pending=Count("id"), due=Count("id", filter=due_filter(now)), oldest=Min("created_at")
    )
    oldest = found["oldest"]
    return {
        "pending": found["pending"],
        "due": found["due"],
        "oldest_pending_seconds": int((now - oldest).total_seconds()) if oldest else None,
    }


def subscriptions_health(now: datetime) -> list[dict[str, Any]]:
    """Per subscription, for the operations dashboard: its state (ok, failing, disabled) and
    why, attempts and their success rate over 24 h (tests left out), deliveries given up in
    24 h, the backlog and the age of its oldest waiting delivery. Three queries whatever the
    number of subscriptions; disabled and failing ones first."""
    since = now - timedelta(hours=24)
    attempts = {
        row.pop("delivery__subscription_id"): row
        for row in WebhookAttempt.objects.filter(started_at__gte=since)
        .exclude(delivery__event__event_type=EventType.TEST)
        .values("delivery__subscription_id")
        .annotate(total=Count("id"), succeeded=Count("id", filter=Q(succeeded=True)))
    }
    waiting = [WebhookDelivery.Status.PENDING, WebhookDelivery.Status.DELIVERING]
    deliveries = {
        row.pop("subscription_id"): row
        for row in WebhookDelivery.objects.filter(
            Q(status__in=waiting) | Q(status=WebhookDelivery.Status.FAILED, completed_at__gte=since)
        )
        .values("subscription_id")
        .annotate(
            backlog=Count("id", filter=Q(status__in=waiting)),
            due=Count("id", filter=due_filter(now)),
            failed_24h=Count("id", filter=Q(status=WebhookDelivery.Status.FAILED)),
            oldest=Min("created_at", filter=Q(status__in=waiting)),
        )
    }
    rows = []
    for subscription in WebhookSubscription.objects.order_by("name", "id"):
        tried = attempts.get(subscription.pk, {"total": 0, "succeeded": 0})
        found = deliveries.get(subscription.pk, {})
        oldest = found.get("oldest")
        if not subscription.is_active:
            state, reason = "disabled", subscription.disabled_reason or "Disabled."
        elif subscription.consecutive_failures or subscription.failing_since:
            state = "failing"
            reason = f"{subscription.consecutive_failures} delivery(ies) in a row given up"
            if subscription.failing_since:
                reason += f"; failing since {subscription.failing_since:%Y-%m-%d %H:%M} UTC"
        else:
            state, reason = "ok", ""
        rows.append(
            {
                "subscription": subscription,
                "state": state,
                "reason": reason,
                "attempts_24h": tried["total"],
                "success_rate_24h": tried["succeeded"] / tried["total"] if tried["total"] else None,
                "failed_24h": found.get("failed_24h", 0),
                "backlog": found.get("backlog", 0),
                "due": found.get("due", 0),
                "oldest_pending_seconds": int((now - oldest).total_seconds()) if oldest else None,
            }
        )
    order = {"disabled": 0, "failing": 1, "ok": 2}
    return sorted(rows, key=lambda row: order[row["state"]])
