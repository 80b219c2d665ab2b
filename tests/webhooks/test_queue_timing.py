"""Deliveries are sent when they are due and once: a retry leaves when its backoff ends (not at
the next sweep after it), and a backlog waiting in the broker is not enqueued a second time;
only a message a probe shows lost is replaced. Time is moved with a clock, not slept through."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from eqms_integration.celery import app
from quality import services as quality
from tests.webhooks.conftest import DELIVER, DELIVER_MANY, PROBE, wait_for
from webhooks import services
from webhooks.models import QueueProbe, WebhookDelivery

pytestmark = pytest.mark.django_db


def waiting_messages() -> list[tuple[str, list, float]]:
    """(task, args, seconds until its ETA) of every message on the memory broker, taken."""
    taken = []
    now = datetime.now(tz=timezone.get_current_timezone())
    with app.connection_for_read() as conn:
        channel = conn.default_channel
        for queue in ("webhooks", app.conf.task_default_queue):
            while (message := channel.basic_get(queue, no_ack=True)) is not None:
                eta = message.headers.get("eta")
                wait = (datetime.fromisoformat(eta) - now).total_seconds() if eta else 0.0
                taken.append((message.headers["task"], message.decode()[0], wait))
    return taken


def run_as_worker(messages: list[tuple[str, list, float]]) -> list[str]:
    """Carry out taken messages as a worker would; the task names, in order."""
    for task, args, _ in messages:
        app.tasks[task](*args)
    return [task for task, _, _ in messages]


def test_a_failed_attempt_whose_retry_is_due_within_the_sweep_interval_is_sent_for_that_time(
    make_subscription, receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_SWEEP_INTERVAL_SECONDS = 15  # backoff 10 s ± 20 %: always within
    make_subscription(retry_delay_seconds=10)
    receiver.respond(503)
    with django_capture_on_commit_callbacks(execute=True):
        quality.ncr_create(title="A")
    [(task, [delivery_id], _)] = waiting_messages()

    services.delivery_attempt(delivery_id=delivery_id)
    [(task, args, wait)] = waiting_messages()

    delivery = WebhookDelivery.objects.get()
    due_in = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert (task, args) == (DELIVER, [delivery_id]) and delivery.status == "pending"
    assert 7.5 <= due_in <= 12.5 and abs(wait - due_in) < 0.5
    assert delivery.enqueued_at is not None  # the sweeper does not send another
    assert services.deliveries_sweep() == 0 and waiting_messages() == []


def test_a_retry_due_later_is_sent_by_the_last_sweep_before_it_with_a_countdown_to_it(
    make_subscription, receiver, settings, clock, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_SWEEP_INTERVAL_SECONDS = 10
    make_subscription(retry_delay_seconds=100)
    receiver.respond(500)
    with django_capture_on_commit_callbacks(execute=True):
        quality.ncr_create(title="A")
    [(_, [delivery_id], _)] = waiting_messages()
    services.delivery_attempt(delivery_id=delivery_id)
    due_at = WebhookDelivery.objects.get().next_attempt_at
    assert waiting_messages() == []  # 80 s or more: left to the sweeper

    sent_per_sweep = []
    while timezone.now() < due_at + timedelta(seconds=20):
        sent_per_sweep.append(services.deliveries_sweep())
        if sent_per_sweep[-1]:
            [(_, _, wait)] = waiting_messages()
            sweep_at = timezone.now()
        clock.advance(10)

    assert sum(sent_per_sweep) == 1  # sent once, by one sweep
    assert abs((sweep_at + timedelta(seconds=wait) - due_at).total_seconds()) < 0.5
    assert 0 <= wait <= 10


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_a_scheduled_retry_at_its_due_time_not_before(
    make_subscription, receiver, celery_worker
):
    make_subscription()
    quality.ncr_create(title="A")
    wait_for(lambda: len(receiver.requests) == 1)
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="pending", completed_at=None, next_attempt_at=timezone.now() + timedelta(seconds=1)
    )  # as a failed attempt would leave it, with a backoff of one second

    swept_at = time.monotonic()
    assert services.deliveries_sweep() == 1
    wait_for(lambda: len(receiver.requests) == 2)

    took = receiver.requests[1].at - swept_at
    assert 0.9 <= took <= 1.6, took


def test_a_backlog_waiting_in_the_broker_is_not_enqueued_again_however_long_it_waits(
    make_subscription, settings, clock, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_REQUEUE_AFTER_SECONDS = 60
    settings.WEBHOOK_SWEEP_INTERVAL_SECONDS = 10
    for name in ("ERP", "MES", "CRM"):
        make_subscription(name=name)
    for n in range(10):
        with django_capture_on_commit_callbacks(execute=True):
            quality.ncr_create(title=f"NCR {n}")
    backlog = waiting_messages()  # one message per commit, with its three deliveries

    sweeps = []
    for _ in range(60):  # ten minutes of sweeps while nothing is taken
        clock.advance(10)
        sweeps.append(services.deliveries_sweep())
    probes = waiting_messages()

    assert sum(sweeps) == 0  # no delivery enqueued a second time
    assert [(task, len(ids)) for task, [ids], _ in backlog] == [(DELIVER_MANY, 3)] * 10
    assert {task for task, _, _ in probes} == {PROBE}
    assert len(probes) == 10  # one a minute, not one per sweep
    # The worker reaches the end of the queue: every delivery, then the probes.
    delivered = [delivery_id for _, [ids], _ in backlog for delivery_id in ids]
    for delivery_id in delivered:
        services.delivery_claim(delivery_id=delivery_id, now=timezone.now())
    run_as_worker(probes)
    clock.advance(20)
    assert services.deliveries_sweep() == 0  # claimed: nothing is lost, nothing resent
    assert sorted(delivered) == sorted(WebhookDelivery.objects.values_list("id", flat=True))
    assert QueueProbe.objects.count() == 1  # older probes pruned


def test_a_message_lost_by_the_broker_is_replaced_once_a_probe_behind_it_was_taken(
    make_subscription, settings, clock, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_REQUEUE_AFTER_SECONDS = 60
    settings.WEBHOOK_SWEEP_INTERVAL_SECONDS = 10
    make_subscription()
    with django_capture_on_commit_callbacks(execute=True):
        quality.ncr_create(title="Lost")
    with django_capture_on_commit_callbacks(execute=True):
        quality.ncr_create(title="Kept")
    lost, kept = waiting_messages()  # the broker restarts and loses the first
    clock.advance(61)

    assert services.deliveries_sweep() == 0
    [probe] = waiting_messages()
    run_as_worker([kept, probe])  # the worker takes what the broker still has, in order
    clock.advance(10)
    replaced = services.deliveries_sweep()
    [(task, args, _)] = waiting_messages()

    assert replaced == 1 and (task, args) == (DELIVER, lost[1])
    assert WebhookDelivery.objects.filter(status="succeeded").count() == 1
