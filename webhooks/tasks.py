"""Celery entry points: take ids, call one service. Both tasks are idempotent (deliveries are
claimed with a conditional UPDATE), so acks_late is safe: a redelivered message finds nothing
to do or the lease of a dead worker."""

from __future__ import annotations

from celery import shared_task

from webhooks import services


@shared_task(acks_late=True, ignore_result=True)
def deliver_webhook(delivery_id: int) -> None:
    services.delivery_attempt(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def sweep_webhook_deliveries() -> int:
    return services.deliveries_sweep()
