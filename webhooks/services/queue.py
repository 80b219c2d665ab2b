"""Handing deliveries to Celery. A delivery's enqueued_at says a message for it is waiting in
the broker (set when one is published, cleared when a worker claims it): the sweeper sends no
second message while one waits. A publish that fails (broker down) clears it again, so the
next sweep sends the delivery: nothing is lost, and no 500 reaches the caller. For a few
seconds after a failed publish (outages.RETRY_SECONDS) this process does not try again, so
requests do not each wait for the broker's connection timeout.

On commit, one broker message goes out per committed batch (an event and its deliveries to
every subscription), not one per delivery: `deliver_webhooks` with at most
WEBHOOK_DELIVERY_BATCH_SIZE ids, which one worker task claims and sends together. Publishing
costs about a millisecond per message. The sweeper sends what it finds in the same batches.

In a request (between Django's request_started and request_finished) the messages of its
commits are held and published when the response has been sent (request_finished fires when
the server closes the response): publishing is not on the caller's path, and a broker that is
down delays no answer. The deliveries are committed and marked enqueued before that, so a
process killed in between loses no delivery: the sweeper's probe finds their messages missing
and sends them (WEBHOOK_REQUEUE_AFTER_SECONDS), as for a message lost in the broker. Outside a
request (workers, commands), or with WEBHOOK_PUBLISH_AFTER_RESPONSE off, they are published
at commit."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from eqms_integration.outages import (
    BROKER,
    outage_over,
    outage_report,
    unavailable_service,
    worth_trying,
)
from webhooks.models import WebhookDelivery

logger = logging.getLogger(__name__)

# The tasks' names (webhooks/tasks.py declares them): messages already in a broker carry these,
# so they stay the same wherever the code moves. Services publish by name and never import tasks.
DELIVER = "webhooks.tasks.deliver_webhook"
DELIVER_MANY = "webhooks.tasks.deliver_webhooks"
FAN_OUT = "webhooks.tasks.enqueue_webhook_deliveries"  # messages from before deliver_webhooks
SWEEP = "webhooks.tasks.sweep_webhook_deliveries"
PROBE = "webhooks.tasks.probe_webhook_queue"


def _publish_failed(exc: Exception, what: str) -> None:
    if unavailable_service(exc) == BROKER:
        outage_report(BROKER, exc)  # once per outage, not once per delivery
    else:
        logger.warning("could not enqueue %s; the sweeper will", what, exc_info=True)


def _not_queued(delivery_ids: list[int]) -> None:
    """Their messages never left: the next sweep sends them (it would wait for them else)."""
    try:
        WebhookDelivery.objects.filter(id__in=delivery_ids, status="pending").update(
            enqueued_at=None
        )
    except Exception:  # the database went too: the sweeper's probe finds them later
        logger.warning("could not mark %d deliveries as not enqueued", len(delivery_ids))


def _batches(ids: list[int]) -> list[list[int]]:
    size = settings.WEBHOOK_DELIVERY_BATCH_SIZE
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def deliveries_enqueue(deliveries: Iterable[int] | Mapping[int, float]) -> int:
    """Messages for these deliveries: those due now in `deliver_webhooks` messages of at most
    WEBHOOK_DELIVERY_BATCH_SIZE ids (`deliver_webhook` for a single one); a mapping gives
    each the seconds to wait before it is due (always within one sweep), and one that must
    wait gets a `deliver_webhook` message of its own with that countdown. Returns how many
    deliveries were sent."""
    waits = deliveries if isinstance(deliveries, Mapping) else dict.fromkeys(deliveries, 0.0)
    if not worth_trying(BROKER):  # it failed seconds ago: leave them to the next sweep
        _not_queued(list(waits))
        return 0
    now_ids = [delivery_id for delivery_id, wait in waits.items() if not wait]
    messages: list[tuple[str, tuple, float | None, list[int]]] = [
        (DELIVER_MANY, (batch,), None, batch)
        if len(batch) > 1
        else (DELIVER, (*batch,), None, batch)
        for batch in _batches(now_ids)
    ]
    messages += [
        (DELIVER, (delivery_id,), wait, [delivery_id])
        for delivery_id, wait in waits.items()
        if wait
    ]
    sent, unsent = 0, []
    for name, args, countdown, ids in messages:
        try:
            current_app.send_task(name, args, countdown=countdown)
            sent += len(ids)
        except Exception as exc:  # broker down: the sweeper retries; the caller's commit stands
            _publish_failed(exc, f"{len(ids)} webhook deliveries ({ids[0]}…)")
            unsent += ids
    if unsent:
        _not_queued(unsent)
    elif sent:
        outage_over(BROKER)
    return sent


def delivery_schedule(delivery_id: int, wait: float) -> bool:
    """Send a delivery whose retry is due within one sweep interval, with a countdown to it:
    on time, where the next sweep might come after it. False if a message already waits."""
    if wait > settings.WEBHOOK_SWEEP_INTERVAL_SECONDS:
        return False
    marked = WebhookDelivery.objects.filter(
        pk=delivery_id, status="pending", enqueued_at__isnull=True
    ).update(enqueued_at=timezone.now())
    return bool(marked) and deliveries_enqueue({delivery_id: wait}) == 1


# The delivery ids committed by the request this thread serves, not published yet; None
# outside a request.
_request = threading.local()


def _enqueue_committed(delivery_ids: list[int]) -> None:
    held = getattr(_request, "held", None)
    if held is None:
        deliveries_enqueue(delivery_ids)
    else:
        held.extend(delivery_ids)


def deliveries_enqueue_on_commit(delivery_ids: list[int]) -> None:
    if delivery_ids:
        transaction.on_commit(lambda: _enqueue_committed(delivery_ids))


def _publish_held() -> None:
    held, _request.held = getattr(_request, "held", None), None
    if not held:
        return
    try:
        deliveries_enqueue(held)
    except Exception:  # never into the server's close; enqueued_at stands: the probe finds them
        logger.exception("could not enqueue %d webhook deliveries", len(held))


def request_started(**kwargs: object) -> None:
    """request_started receiver: hold this request's messages until its response is sent."""
    _publish_held()  # a request before it on this thread that never finished: send its now
    _request.held = [] if settings.WEBHOOK_PUBLISH_AFTER_RESPONSE else None


def request_finished(**kwargs: object) -> None:
    """request_finished receiver: the response is out; publish what the request committed."""
    _publish_held()


def probe_enqueue(probe_id: int) -> None:
    """Send a probe down the queue the delivery messages take (task_routes may move them)."""
    route = current_app.amqp.router.route({}, DELIVER)
    try:
        current_app.send_task(PROBE, (probe_id,), queue=route.get("queue"))
    except Exception as exc:  # a probe lost is replaced after WEBHOOK_REQUEUE_AFTER_SECONDS
        _publish_failed(exc, f"queue probe {probe_id}")
