"""Celery entry points: take ids, call one service. All tasks are idempotent (deliveries are
claimed with a conditional UPDATE, so an extra `deliver_webhook` message finds nothing to do),
so acks_late is safe: a redelivered message finds nothing to do or the lease of a dead worker."""

from __future__ import annotations

from celery import shared_task

from webhooks import services


@shared_task(acks_late=True, ignore_result=True)
def deliver_webhook(delivery_id: int) -> None:
    services.delivery_attempt(delivery_id=delivery_id)


@shared_task(acks_late=True, ignore_result=True)
def enqueue_webhook_deliveries(delivery_ids: list[int]) -> int:
    """The fan-out of one committed batch: one `deliver_webhook` message per delivery. If this
    message is lost, the deliveries stay due and the sweeper enqueues them."""
    return services.deliveries_enqueue(delivery_ids)


@shared_task(ignore_result=True)
def sweep_webhook_deliveries() -> int:
    return services.deliveries_sweep()
