"""Delivery statistics of a subscription (REST `statistics`, the admin chart)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Min
from django.db.models.functions import TruncDate
from django.utils import timezone

from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from webhooks.services.circuit import circuit_state

Status = WebhookDelivery.Status


def _percentile(sorted_values: list[int], fraction: float) -> int | None:
    if not sorted_values:
        return None
    # Nearest-rank: the smallest value with at least `fraction` of the values at or below it.
    rank = max(1, -(-len(sorted_values) * fraction // 1))
    return sorted_values[int(rank) - 1]


def subscription_statistics(*, subscription: WebhookSubscription, days: int) -> dict[str, Any]:
    now = timezone.now()
    since = now - timedelta(days=days)
    deliveries = WebhookDelivery.objects.filter(subscription=subscription, created_at__gte=since)
    totals = dict.fromkeys(Status.values, 0)
    for row in deliveries.values("status").annotate(n=Count("id")):
        totals[row["status"]] = row["n"]
    finished = totals[Status.SUCCEEDED] + totals[Status.FAILED]
    durations = sorted(
        WebhookAttempt.objects.filter(
            delivery__subscription=subscription, started_at__gte=since
        ).values_list("duration_ms", flat=True)
    )
    oldest = WebhookDelivery.objects.filter(
        subscription=subscription, status__in=[Status.PENDING, Status.DELIVERING]
    ).aggregate(oldest=Min("created_at"))["oldest"]
    return {
        "days": days,
        "total": sum(totals.values()),
        "by_status": totals,
        "success_rate": round(totals[Status.SUCCEEDED] / finished, 4) if finished else None,
        "attempts": len(durations),
        "latency_ms_p50": _percentile(durations, 0.50),
        "latency_ms_p95": _percentile(durations, 0.95),
        "consecutive_failures": subscription.consecutive_failures,
        "circuit": circuit_state(subscription),
        "oldest_pending_age_seconds": int((now - oldest).total_seconds()) if oldest else None,
    }


def subscription_daily_outcomes(
    *, subscription: WebhookSubscription, days: int = 14
) -> list[dict[str, Any]]:
    """One row per day (oldest first, today last) with counts per delivery status."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    rows = (
        WebhookDelivery.objects.filter(subscription=subscription, created_at__date__gte=first)
        .annotate(day=TruncDate("created_at"))
        .values("day", "status")
        .annotate(n=Count("id"))
    )
    by_day: dict[date, dict[str, int]] = {
        first + timedelta(days=i): dict.fromkeys(Status.values, 0) for i in range(days)
    }
    for row in rows:
        if row["day"] in by_day:
            by_day[row["day"]][row["status"]] += row["n"]
    return [{"day": day, **counts, "total": sum(counts.values())} for day, counts in by_day.items()]
