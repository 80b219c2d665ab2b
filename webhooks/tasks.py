"""Celery entry points: take ids, call one service. All tasks are idempotent (deliveries are
claimed with a conditional UPDATE, so an extra `deliver_webhook` message finds nothing to do),
so acks_late is safe: a redelivered message finds nothing to do or the lease of a dead worker.
A task that meets a backing service down ends quietly (logged once per outage): the delivery
stays due in the database and the sweeper hands it out again."""

from __future__ import annotations

from celery import shared_task

from eqms_integration.outages import outage_tolerant
from webhooks import services
from webhooks.services import queue


@shared_task(name=queue.DELIVER, acks_late=True, ignore_result=True)
@outage_tolerant
def deliver_webhook(delivery_id: int) -> None:
    services.delivery_attempt(delivery_id=delivery_id)


@shared_task(name=queue.FAN_OUT, acks_late=True, ignore_result=True)
@outage_tolerant
def enqueue_webhook_deliveries(delivery_ids: list[int]) -> int:
    """The fan-out of one committed batch: one `deliver_webhook` message per delivery. If this
    message is lost, the deliveries stay due and the sweeper enqueues them."""
    return services.deliveries_fan_out(delivery_ids)


@shared_task(name=queue.SWEEP, ignore_result=True)
@outage_tolerant
def sweep_webhook_deliveries() -> int:
    return services.deliveries_sweep()


@shared_task(name=queue.PROBE, ignore_result=True)
@outage_tolerant
def probe_webhook_queue(probe_id: int) -> None:
    """A worker took the probe: every delivery message published before it was taken too."""
    services.queue_probe_reached(probe_id=probe_id)
