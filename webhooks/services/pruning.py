"""Removing old delivery history."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent

FINISHED = (WebhookDelivery.Status.SUCCEEDED, WebhookDelivery.Status.FAILED)


@transaction.atomic
def deliveries_prune(*, older_than_days: int, commit: bool) -> dict[str, int]:
    """Delete finished deliveries (and their attempts) created more than N days ago, and events
    left without deliveries. Without `commit` only counts. Pending work is never touched."""
    if older_than_days < 1:
        raise ValueError("older_than_days must be at least 1.")
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deliveries = WebhookDelivery.objects.filter(created_at__lt=cutoff, status__in=FINISHED)
    counts = {
        "deliveries": deliveries.count(),
        "attempts": WebhookAttempt.objects.filter(delivery__in=deliveries).count(),
    }
    if commit:
        WebhookAttempt.objects.filter(delivery__in=deliveries).delete()
        deliveries.delete()
    # Deliveries of one event share its created_at, so these events are left with only
    # finished, prunable deliveries (or none once they are deleted).
    orphans = WebhookEvent.objects.filter(created_at__lt=cutoff).exclude(
        deliveries__status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.DELIVERING]
    )
    counts["events"] = orphans.count()
    if commit:
        orphans.delete()
    return counts
