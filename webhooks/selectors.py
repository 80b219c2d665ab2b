"""Reads of the webhooks app that views, admin and commands share."""

from __future__ import annotations

from django.db.models import QuerySet

from webhooks.models import WebhookDelivery, WebhookSubscription


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
