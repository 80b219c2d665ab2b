"""The periodic sweep (celery-beat): finds deliveries that are due, or whose worker died
(lease expired), and hands them to Celery again. Lost tasks delay work; they never lose it."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from webhooks.models import WebhookDelivery
from webhooks.services.delivery import due_filter
from webhooks.services.queue import deliveries_enqueue


def deliveries_due(*, now: datetime) -> list[int]:
    """Ids of due deliveries not enqueued recently, marked as enqueued now."""
    recently = now - timedelta(seconds=settings.WEBHOOK_REQUEUE_AFTER_SECONDS)
    not_queued = Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=recently)
    ids = list(
        WebhookDelivery.objects.filter(due_filter(now), not_queued)
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[: settings.WEBHOOK_SWEEP_BATCH_SIZE]
    )
    if ids:
        WebhookDelivery.objects.filter(id__in=ids).update(enqueued_at=now)
    return ids


def deliveries_sweep() -> int:
    """Enqueue every due delivery; returns how many were enqueued."""
    return deliveries_enqueue(deliveries_due(now=timezone.now()))
