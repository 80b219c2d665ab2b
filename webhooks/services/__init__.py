"""Every write and side effect of the webhooks app: <noun>_<verb>(*, ...)."""

from __future__ import annotations

from webhooks.services.delivery import deliveries_attempt, delivery_attempt, delivery_claim
from webhooks.services.pruning import deliveries_prune
from webhooks.services.publishing import event_publish
from webhooks.services.queue import deliveries_enqueue
from webhooks.services.recovery import deliveries_requeue, delivery_retry_now
from webhooks.services.statistics import subscription_daily_outcomes, subscription_statistics
from webhooks.services.subscriptions import (
    subscription_create,
    subscription_disable,
    subscription_enable,
    subscription_regenerate_secret,
    subscription_update,
)
from webhooks.services.sweeper import deliveries_sweep, queue_probe_reached
from webhooks.services.trial_send import subscription_send_test

__all__ = [
    "deliveries_attempt",
    "deliveries_enqueue",
    "deliveries_prune",
    "deliveries_requeue",
    "deliveries_sweep",
    "delivery_attempt",
    "delivery_claim",
    "delivery_retry_now",
    "event_publish",
    "queue_probe_reached",
    "subscription_create",
    "subscription_daily_outcomes",
    "subscription_disable",
    "subscription_enable",
    "subscription_regenerate_secret",
    "subscription_send_test",
    "subscription_statistics",
    "subscription_update",
]
