"""Handing deliveries to Celery. A failure to enqueue loses nothing: the rows stay due and the
sweeper enqueues them again after WEBHOOK_REQUEUE_AFTER_SECONDS."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction

logger = logging.getLogger(__name__)


def deliveries_enqueue(delivery_ids: Iterable[int]) -> int:
    from webhooks.tasks import deliver_webhook  # tasks import services; avoid the cycle

    sent = 0
    for delivery_id in delivery_ids:
        try:
            deliver_webhook.delay(delivery_id)
            sent += 1
        except Exception:  # broker down: the sweeper retries; the caller's commit must stand
            logger.warning("could not enqueue webhook delivery %s; the sweeper will", delivery_id)
    return sent


def deliveries_enqueue_on_commit(delivery_ids: list[int]) -> None:
    if delivery_ids:
        transaction.on_commit(lambda: deliveries_enqueue(delivery_ids))
