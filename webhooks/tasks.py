"""Celery entry points: take ids, call one service. All tasks are idempotent (deliveries are
claimed with a conditional UPDATE, so an extra message finds nothing to do), so acks_late is
safe: a redelivered message finds nothing to do or the lease of a dead worker. A task that
meets a backing service down ends quietly (logged once per outage): the deliveries stay due
in the database and the sweeper hands them out again. The names are fixed (queue.py): a
message waiting in a broker keeps working whatever moves in the code."""

from __future__ import annotations

from celery import shared_task

from eqms_integration.outages import outage_tolerant
from webhooks import services
from webhooks.services import queue


@shared_task(name=queue.DELIVER_MANY, acks_late=True, ignore_result=True)
@outage_tolerant
def deliver_webhooks(delivery_ids: list[int]) -> int:
    """One attempt of each delivery that is due: claimed, sent and recorded together."""
    return len(services.deliveries_attempt(delivery_ids=delivery_ids))


@shared_task(name=queue.DELIVER, acks_late=True, ignore_result=True)
@outage_tolerant
def deliver_webhook(delivery_id: int) -> None:
    services.delivery_attempt(delivery_id=delivery_id)


@shared_task(name=queue.FAN_OUT, acks_late=True, ignore_result=True)
@outage_tolerant
def enqueue_webhook_deliveries(delivery_ids: list[int]) -> int:
    """Messages published before `deliver_webhooks` existed: now delivered the same way."""
    return len(services.deliveries_attempt(delivery_ids=delivery_ids))


@shared_task(name=queue.SWEEP, ignore_result=True)
@outage_tolerant
def sweep_webhook_deliveries() -> int:
    return services.deliveries_sweep()


@shared_task(name=queue.PROBE, ignore_result=True)
@outage_tolerant
def probe_webhook_queue(probe_id: int) -> None:
    """A worker took the probe: every delivery message published before it was taken too."""
    services.queue_probe_reached(probe_id=probe_id)
