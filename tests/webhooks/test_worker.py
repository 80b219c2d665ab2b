"""Fault tests with a real Celery worker, a real receiver on 127.0.0.1 and the real sweeper
task. Time is moved forward by making scheduled retries due instead of sleeping through them."""

from __future__ import annotations

import time

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from quality import services as quality
from tests.webhooks.conftest import DELIVER_MANY, SWEEP, broker_down, wait_for
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.tasks import deliver_webhooks, sweep_webhook_deliveries

pytestmark = pytest.mark.django_db(transaction=True)

RECEIVERS = ("ERP", "MES", "CRM", "PLM", "BI")


def statuses() -> list[str]:
    return list(WebhookDelivery.objects.order_by("id").values_list("status", flat=True))


def travel_to_next_attempts() -> list[float]:
    """Make every scheduled retry (and circuit breaker probe) due now; returns the delays the
    retries had been scheduled with."""
    now = timezone.now()
    delays = []
    for delivery in WebhookDelivery.objects.filter(status="pending"):
        last = delivery.attempts.order_by("-number").first()
        delays.append((delivery.next_attempt_at - last.started_at).total_seconds())
    WebhookDelivery.objects.filter(status="pending").update(next_attempt_at=now)
    WebhookSubscription.objects.exclude(circuit_probe_at=None).update(circuit_probe_at=now)
    return delays


def test_a_receiver_that_fails_twice_gets_three_attempts_of_the_same_message(
    make_subscription, receiver, celery_worker
):
    _, secret = make_subscription(retry_delay_seconds=10)
    receiver.respond(500, (503, {}, "busy"))

    quality.ncr_create(title="Weld crack")  # commit enqueues the delivery
    wait_for(lambda: len(receiver.requests) == 1 and statuses() == ["pending"])
    delays = travel_to_next_attempts()
    sweep_webhook_deliveries.delay()
    wait_for(lambda: len(receiver.requests) == 2 and statuses() == ["pending"])
    delays += travel_to_next_attempts()
    sweep_webhook_deliveries.delay()
    wait_for(lambda: statuses() == ["succeeded"])

    assert 8 <= delays[0] <= 12.5 and 16 <= delays[1] <= 24.5  # 10 s, then 20 s, ±20 %
    assert [r.headers["X-Webhook-Delivery-Attempt"] for r in receiver.requests] == ["1", "2", "3"]
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    for request in receiver.requests:
        Webhook(secret).verify(request.body, request.headers)
    delivery = WebhookDelivery.objects.get()
    assert delivery.attempt_count == 3
    assert list(delivery.attempts.values_list("status_code", flat=True)) == [500, 503, 200]


def test_a_rolled_back_ncr_change_sends_nothing(make_subscription, receiver, celery_worker):
    make_subscription()

    with pytest.raises(RuntimeError), transaction.atomic():
        quality.ncr_create(title="Never committed")
        raise RuntimeError("rollback")
    sweep_webhook_deliveries.delay()
    committed = quality.ncr_create(title="Committed")
    wait_for(lambda: statuses() == ["succeeded"])

    assert [r.json["data"]["number"] for r in receiver.requests] == [committed.number]


def test_a_receiver_down_for_a_while_gets_every_event_once_it_is_back(
    make_subscription, receiver, celery_worker
):
    make_subscription(retry_delay_seconds=10)
    receiver.stop()
    sent = [quality.ncr_create(title=f"NCR {i}").number for i in range(5)]
    wait_for(
        lambda: (
            statuses() == ["pending"] * 5
            and all(d.attempt_count == 1 for d in WebhookDelivery.objects.all())
        )
    )
    assert receiver.requests == []

    receiver.start()  # same port
    travel_to_next_attempts()
    sweep_webhook_deliveries.delay()
    wait_for(lambda: statuses() == ["succeeded"] * 5)

    received = [r.json["data"]["number"] for r in receiver.requests]
    assert sorted(received) == sorted(sent)  # nothing lost, nothing twice
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 5


def test_a_delivery_held_by_a_killed_worker_is_finished_by_the_sweeper_after_its_lease(
    make_subscription, receiver, celery_worker
):
    make_subscription()
    with broker_down():  # its task message is lost too
        quality.ncr_create(title="A")
    delivery = WebhookDelivery.objects.get()
    assert services.delivery_claim(delivery_id=delivery.pk, now=timezone.now())  # then killed

    sweep_webhook_deliveries.delay()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(lease_expires_at=timezone.now())
    sweep_webhook_deliveries.delay()
    wait_for(lambda: statuses() == ["succeeded"])

    assert len(receiver.requests) == 1
    assert receiver.requests[0].headers["X-Webhook-Delivery-Attempt"] == "2"


def subscribe_several(make_subscription, receiver) -> None:
    for name in RECEIVERS:
        make_subscription(name=name, url=f"{receiver.url}/{name}")


def paths_received(receiver) -> list[str]:
    return sorted(r.path.rsplit("/", 1)[1] for r in receiver.requests)


def test_one_commit_for_several_subscriptions_publishes_one_message_and_each_gets_it_once(
    make_subscription, receiver, celery_worker, published
):
    subscribe_several(make_subscription, receiver)

    quality.ncr_create(title="Weld crack")  # returns after the commit and its enqueue
    on_commit = list(published)
    wait_for(lambda: statuses() == ["succeeded"] * len(RECEIVERS))

    ids = sorted(WebhookDelivery.objects.values_list("id", flat=True))
    assert [(task, sorted(batch)) for task, [batch] in on_commit] == [(DELIVER_MANY, ids)]
    assert len(published) == 1  # the worker claimed and sent them all from that message
    assert paths_received(receiver) == sorted(RECEIVERS)  # every one, exactly once
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1


def test_a_message_lost_at_commit_is_delivered_by_the_next_sweep(
    make_subscription, receiver, celery_worker, published
):
    subscribe_several(make_subscription, receiver)

    with broker_down():
        ncr = quality.ncr_create(title="Broker down")  # committed; its message never left
    assert receiver.requests == [] and statuses() == ["pending"] * len(RECEIVERS)

    sweep_webhook_deliveries.delay()  # the publish failed: no need to wait for it
    wait_for(lambda: statuses() == ["succeeded"] * len(RECEIVERS))

    assert paths_received(receiver) == sorted(RECEIVERS)
    assert {r.json["data"]["number"] for r in receiver.requests} == {ncr.number}
    assert [task for task, _ in published] == [SWEEP, DELIVER_MANY]  # the sweeper sent them


def test_a_batch_message_run_twice_still_delivers_each_event_once(
    make_subscription, receiver, celery_worker, published
):
    subscribe_several(make_subscription, receiver)
    with broker_down():
        quality.ncr_create(title="Redelivered")
    ids = list(WebhookDelivery.objects.values_list("id", flat=True))

    deliver_webhooks.delay(ids)  # as when acks_late hands a message out again
    deliver_webhooks.delay(ids)
    wait_for(lambda: statuses() == ["succeeded"] * len(RECEIVERS))
    time.sleep(0.5)  # a second message of a delivery finds it done

    assert paths_received(receiver) == sorted(RECEIVERS)
