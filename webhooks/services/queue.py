"""Handing deliveries to Celery. A failure to enqueue loses nothing: the rows stay due with
enqueued_at set, and the sweeper enqueues them again after WEBHOOK_REQUEUE_AFTER_SECONDS.

On commit, one broker message goes out per committed batch, not one per delivery: a single
delivery goes straight to `deliver_webhook`; several go as `enqueue_webhook_deliveries`
messages (at most WEBHOOK_SWEEP_BATCH_SIZE ids each), which a worker fans out into one
`deliver_webhook` per delivery. Publishing costs about a millisecond per message, and that
time is on the request's path; the fan-out moves it to the worker."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)


def deliveries_enqueue(delivery_ids: Iterable[int]) -> int:
    """One `deliver_webhook` message per delivery (the sweeper and the worker's fan-out)."""
    from webhooks.tasks import deliver_webhook  # tasks import services; avoid the cycle

    sent = 0
    for delivery_id in delivery_ids:
        try:
            deliver_webhook.delay(delivery_id)
            sent += 1
        except Exception:  # broker down: the sweeper retries; the caller's commit must stand
            logger.warning("could not enqueue webhook delivery %s; the sweeper will", delivery_id)
    return sent


def deliveries_enqueue_batched(delivery_ids: list[int]) -> None:
    """As few messages as possible: the delivery itself when alone, else fan-out batches."""
    from webhooks.tasks import enqueue_webhook_deliveries

    if len(delivery_ids) == 1:
        deliveries_enqueue(delivery_ids)
        return
    size = settings.WEBHOOK_SWEEP_BATCH_SIZE
    for start in range(0, len(delivery_ids), size):
        batch = delivery_ids[start : start + size]
        try:
            enqueue_webhook_deliveries.delay(batch)
        except Exception:  # broker down: the sweeper retries; the caller's commit must stand
            logger.warning(
                "could not enqueue %d webhook deliveries (%s…); the sweeper will",
                len(batch),
                batch[0],
            )


def deliveries_enqueue_on_commit(delivery_ids: list[int]) -> None:
    if delivery_ids:
        transaction.on_commit(lambda: deliveries_enqueue_batched(delivery_ids))
