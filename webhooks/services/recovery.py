"""Sending again: one immediate attempt of a delivery, or re-queueing failed ones."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from webhooks.services.delivery import delivery_attempt
from webhooks.services.queue import deliveries_enqueue_on_commit

Status = WebhookDelivery.Status


def delivery_retry_now(*, delivery: WebhookDelivery) -> WebhookAttempt:
    """One attempt right now. A delivery that had given up stays given up if it fails again;
    one still waiting for a retry keeps its schedule."""
    if not delivery.subscription.is_active:
        raise ValidationError(
            {"subscription": "The subscription is disabled; enable it before retrying."}
        )
    previous = delivery.status
    made_due = WebhookDelivery.objects.filter(
        pk=delivery.pk, status__in=[Status.PENDING, Status.FAILED, Status.SUCCEEDED]
    ).update(status=Status.PENDING, next_attempt_at=timezone.now(), completed_at=None)
    busy = ValidationError({"status": "A worker is delivering it right now; try again later."})
    if not made_due:
        # `delivering`: even with an expired lease the sweeper hands it to a worker; an attempt
        # from here as well could send it twice.
        raise busy
    attempt = delivery_attempt(
        delivery_id=delivery.pk, allow_retry=previous == Status.PENDING, manual=True
    )
    if attempt is None:
        raise busy
    return attempt


@transaction.atomic
def deliveries_requeue(
    *,
    subscription: WebhookSubscription | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    include_failed: bool = True,
    include_pending: bool = False,
) -> int:
    """Make matching deliveries due now and enqueue them. Failed ones get a fresh retry budget;
    pending ones (waiting for a retry) are simply brought forward."""
    now = timezone.now()
    rows: QuerySet[WebhookDelivery] = WebhookDelivery.objects.all()
    if subscription is not None:
        rows = rows.filter(subscription=subscription)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if until is not None:
        rows = rows.filter(created_at__lt=until)
    # Both sets are read before either is changed: recovered ones are pending afterwards.
    pending_ids = (
        list(rows.filter(status=Status.PENDING).values_list("id", flat=True))
        if include_pending
        else []
    )
    failed_ids = (
        list(
            rows.filter(status=Status.FAILED, subscription__is_active=True).values_list(
                "id", flat=True
            )
        )
        if include_failed
        else []
    )
    WebhookDelivery.objects.filter(id__in=failed_ids, status=Status.FAILED).update(
        status=Status.PENDING,
        next_attempt_at=now,
        completed_at=None,
        enqueued_at=now,
        attempts_before_recovery=F("attempt_count"),
    )
    WebhookDelivery.objects.filter(id__in=pending_ids, status=Status.PENDING).update(
        next_attempt_at=now, enqueued_at=now
    )
    ids = pending_ids + failed_ids
    deliveries_enqueue_on_commit(ids)
    return len(ids)
