"""The quality services publish NCR/CAPA events into the outbox in their own transaction."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core import signals
from django.db import transaction

from eqms_integration.celery import app
from quality import services as quality
from quality.models import NCR
from tests.webhooks.conftest import (
    DELIVER,
    DELIVER_MANY,
    FAN_OUT,
    PROBE,
    broker_down,
    broker_messages,
    deliveries_handed_to_workers,
)
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEvent

pytestmark = pytest.mark.django_db

ALL = ["ncr.created", "ncr.updated", "ncr.closed", "capa.created", "capa.updated", "capa.closed"]


def events() -> list[str]:
    return list(WebhookEvent.objects.order_by("id").values_list("event_type", flat=True))


def test_creating_an_ncr_writes_one_event_and_one_delivery_per_matching_subscription(
    make_subscription,
):
    erp, _ = make_subscription(name="ERP")
    mes, _ = make_subscription(name="MES", events=["ncr.created", "capa.created"])
    make_subscription(name="CRM", events=["capa.closed"])
    make_subscription(name="Off", is_active=False)

    ncr = quality.ncr_create(title="Burr", severity="major")

    event = WebhookEvent.objects.get()
    body = json.loads(event.payload)
    assert body["id"] == event.message_id and body["event"] == "ncr.created"
    assert body["data"]["number"] == ncr.number and body["data"]["severity"] == "major"
    assert set(body) == {"id", "event", "timestamp", "data"}
    deliveries = WebhookDelivery.objects.filter(event=event)
    assert {d.subscription_id for d in deliveries} == {erp.pk, mes.pk}
    assert {d.status for d in deliveries} == {"pending"}


def test_without_subscribers_nothing_is_stored(db):
    quality.ncr_create(title="Nobody listens")

    assert WebhookEvent.objects.count() == 0


def test_an_update_that_changes_nothing_publishes_nothing(make_subscription):
    make_subscription(events=ALL)
    ncr = quality.ncr_create(title="Same")

    quality.ncr_update(ncr=ncr, data={"title": "Same"})
    quality.ncr_update(ncr=ncr, data={"title": "Different"})

    assert events() == ["ncr.created", "ncr.updated"]


def test_closing_publishes_only_closed(make_subscription):
    make_subscription(events=ALL)
    ncr = quality.ncr_create(title="A")
    capa = quality.capa_create(title="Fix", ncr=ncr)

    quality.ncr_close(ncr=ncr)
    quality.capa_update(capa=capa, data={"owner": "Kim"})
    quality.capa_close(capa=capa)

    assert events() == ["ncr.created", "capa.created", "ncr.closed", "capa.updated", "capa.closed"]
    closed = json.loads(WebhookEvent.objects.get(event_type="ncr.closed").payload)
    assert closed["data"]["status"] == "closed" and closed["data"]["closed_at"]


def test_closing_with_other_changes_publishes_one_closed_event_with_the_new_values(
    make_subscription,
):
    make_subscription(events=ALL)
    ncr = quality.ncr_create(title="A")
    capa = quality.capa_create(title="Fix", ncr=ncr)

    quality.ncr_close(ncr=ncr, data={"title": "A, reworked", "severity": "major"})
    quality.capa_close(capa=capa, data={"owner": "Kim"})

    assert events() == ["ncr.created", "capa.created", "ncr.closed", "capa.closed"]
    ncr_data = json.loads(WebhookEvent.objects.get(event_type="ncr.closed").payload)["data"]
    capa_data = json.loads(WebhookEvent.objects.get(event_type="capa.closed").payload)["data"]
    assert (ncr_data["title"], ncr_data["severity"], ncr_data["status"]) == (
        "A, reworked",
        "major",
        "closed",
    )
    assert (capa_data["owner"], capa_data["status"]) == ("Kim", "closed")


def test_an_inbound_sync_that_closes_an_ncr_and_renames_it_publishes_only_ncr_closed(
    make_subscription, tmp_path, sync_test_systems
):
    from sync.engine.runner import execute
    from sync.models import Connection
    from sync.services import configuration_create
    from sync.services.runs import run_start

    make_subscription(events=ALL)
    path = tmp_path / "mes.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE mes_ncr (ncr_id INTEGER PRIMARY KEY, title TEXT, state TEXT)")
        db.execute("INSERT INTO mes_ncr VALUES (1, 'Burr', 'O')")
    config = configuration_create(
        name="MES NCRs",
        system_type="MES",
        entity_type="ncr",
        sync_type="full",
        connection=Connection.objects.create(name="MES", kind="sqlite", database=str(path)),
        remote_object="mes_ncr",
        remote_key="ncr_id",
        field_mappings=[
            {"local": "title", "remote": "title"},
            {
                "local": "status",
                "remote": "state",
                "transform": {"type": "map", "values": {"O": "open", "C": "closed"}},
            },
        ],
    )
    execute(run_start(config=config))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE mes_ncr SET title = 'Burr on flange', state = 'C' WHERE ncr_id = 1")

    run = execute(run_start(config=config))

    assert (run.status, run.updated) == ("success", 1)
    assert events() == ["ncr.created", "ncr.closed"]
    closed = json.loads(WebhookEvent.objects.get(event_type="ncr.closed").payload)["data"]
    assert (closed["title"], closed["status"]) == ("Burr on flange", "closed")


def test_a_rolled_back_change_leaves_no_event_and_no_delivery(make_subscription):
    make_subscription(events=ALL)

    with pytest.raises(RuntimeError), transaction.atomic():
        quality.ncr_create(title="Rolled back")
        raise RuntimeError("the caller fails after the NCR was written")

    assert WebhookEvent.objects.count() == 0 and WebhookDelivery.objects.count() == 0


def test_delivery_is_enqueued_only_when_the_transaction_commits(
    make_subscription, django_capture_on_commit_callbacks
):
    make_subscription()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        quality.ncr_create(title="A")
        assert broker_messages() == []

    assert len(callbacks) == 1
    # A single delivery needs no fan-out: it goes straight to the task that delivers it.
    assert broker_messages() == [(DELIVER, [WebhookDelivery.objects.get().pk])]


def test_a_commit_with_several_deliveries_publishes_one_message_with_all_of_them(
    make_subscription, django_capture_on_commit_callbacks
):
    for name in ("ERP", "MES", "CRM"):
        make_subscription(name=name)

    with django_capture_on_commit_callbacks(execute=True):
        quality.ncr_create(title="A")

    ids = sorted(WebhookDelivery.objects.values_list("id", flat=True))
    [(task, [batch])] = broker_messages()
    assert (task, sorted(batch)) == (DELIVER_MANY, ids)


def test_a_large_commit_is_sent_in_messages_of_at_most_the_delivery_batch_size(
    make_subscription, django_capture_on_commit_callbacks, settings
):
    for i in range(5):
        make_subscription(name=f"S{i}")
    settings.WEBHOOK_DELIVERY_BATCH_SIZE = 2

    with django_capture_on_commit_callbacks(execute=True):
        quality.ncr_create(title="A")

    messages = broker_messages()
    assert [(task, len(args[0]) if task == DELIVER_MANY else 1) for task, args in messages] == [
        (DELIVER_MANY, 2),
        (DELIVER_MANY, 2),
        (DELIVER, 1),
    ]
    handed = [i for task, args in messages for i in (args[0] if task == DELIVER_MANY else args)]
    assert sorted(handed) == sorted(WebhookDelivery.objects.values_list("id", flat=True))


def test_a_fan_out_message_published_before_an_upgrade_is_delivered_by_a_worker(
    make_subscription, receiver, settings
):
    for name in ("ERP", "MES"):
        make_subscription(name=name)
    quality.ncr_create(title="A")
    ids = list(WebhookDelivery.objects.values_list("id", flat=True))

    assert app.tasks[FAN_OUT](ids) == 2  # what a worker does with such a message
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}
    assert len(receiver.requests) == 2


def test_a_broker_that_is_down_at_commit_loses_nothing(
    make_subscription, django_capture_on_commit_callbacks
):
    for name in ("ERP", "MES", "CRM"):
        make_subscription(name=name)

    with broker_down(), django_capture_on_commit_callbacks(execute=True):
        quality.ncr_create(title="A")  # the commit stands even though enqueueing failed

    ids = sorted(WebhookDelivery.objects.values_list("id", flat=True))
    assert len(ids) == 3 and broker_messages() == []
    assert not WebhookDelivery.objects.filter(enqueued_at__isnull=False).exists()
    assert services.deliveries_sweep() == 3  # the publish failed: the next sweep sends them
    # The sweeper enqueues them itself, in one batch.
    [(task, [batch])] = broker_messages()
    assert (task, sorted(batch)) == (DELIVER_MANY, ids)
    assert services.deliveries_sweep() == 0  # their messages wait in the broker now


def test_a_batch_message_that_no_worker_runs_is_replaced_once_a_probe_shows_it_lost(
    make_subscription, django_capture_on_commit_callbacks, settings, clock
):
    for name in ("ERP", "MES"):
        make_subscription(name=name)
    settings.WEBHOOK_REQUEUE_AFTER_SECONDS = 60
    settings.WEBHOOK_SWEEP_INTERVAL_SECONDS = 10
    with django_capture_on_commit_callbacks(execute=True):
        quality.ncr_create(title="A")

    [(task, _)] = broker_messages()  # taken by a worker that dies before claiming them
    assert task == DELIVER_MANY
    clock.advance(59)
    assert services.deliveries_sweep() == 0 and broker_messages() == []  # may still be queued
    clock.advance(2)
    assert services.deliveries_sweep() == 0  # suspected: a probe goes down the queue
    [(probe, probe_args)] = broker_messages()
    assert probe == PROBE
    app.tasks[probe](*probe_args)  # a worker takes it: the batch was taken before it
    assert services.deliveries_sweep() == 0  # not yet: a worker may still hold the message
    clock.advance(settings.WEBHOOK_SWEEP_INTERVAL_SECONDS)

    assert services.deliveries_sweep() == 2
    assert sorted(deliveries_handed_to_workers()) == sorted(
        WebhookDelivery.objects.values_list("id", flat=True)
    )


def test_celery_beat_runs_the_sweeper_on_the_configured_interval(settings):
    from eqms_integration.celery import app

    entry = app.conf.beat_schedule["webhooks-sweep-deliveries"]

    assert entry["task"] == "webhooks.tasks.sweep_webhook_deliveries"
    assert entry["task"] in app.tasks
    assert entry["schedule"] == settings.WEBHOOK_SWEEP_INTERVAL_SECONDS


@contextmanager
def serving_a_request() -> Iterator[None]:
    """What the WSGI server does around a request: request_started, then request_finished once
    the response has been sent (without Django's connection clean-up, which would end the
    test's transaction; its test client leaves that out too)."""
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        signals.request_started.send(sender=None)
        try:
            yield
        finally:
            signals.request_finished.send(sender=None)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def test_the_message_of_a_commit_made_in_a_request_leaves_once_its_response_is_sent(
    make_subscription, django_capture_on_commit_callbacks
):
    for name in ("ERP", "MES"):
        make_subscription(name=name)

    with serving_a_request():
        with django_capture_on_commit_callbacks(execute=True):
            quality.ncr_create(title="A")
        # Committed and marked as enqueued, but the message waits for the response.
        assert broker_messages() == []
        assert WebhookDelivery.objects.filter(enqueued_at__isnull=False).count() == 2

    ids = sorted(WebhookDelivery.objects.values_list("id", flat=True))
    [(task, [batch])] = broker_messages()
    assert (task, sorted(batch)) == (DELIVER_MANY, ids)


def test_with_publishing_after_the_response_off_a_request_publishes_at_commit(
    make_subscription, django_capture_on_commit_callbacks, settings
):
    make_subscription()
    settings.WEBHOOK_PUBLISH_AFTER_RESPONSE = False

    with serving_a_request():
        with django_capture_on_commit_callbacks(execute=True):
            quality.ncr_create(title="A")
        assert broker_messages() == [(DELIVER, [WebhookDelivery.objects.get().pk])]

    assert broker_messages() == []


def test_the_commits_of_one_request_leave_together_after_its_response(
    make_subscription, django_capture_on_commit_callbacks
):
    for name in ("ERP", "MES"):
        make_subscription(name=name)

    with serving_a_request():
        for title in ("A", "B"):
            with django_capture_on_commit_callbacks(execute=True):
                quality.ncr_create(title=title)

    ids = sorted(WebhookDelivery.objects.values_list("id", flat=True))
    assert len(ids) == 4
    [(task, [batch])] = broker_messages()
    assert (task, sorted(batch)) == (DELIVER_MANY, ids)


def test_a_request_whose_messages_meet_the_broker_down_loses_nothing(
    make_subscription, django_capture_on_commit_callbacks
):
    for name in ("ERP", "MES"):
        make_subscription(name=name)

    with broker_down(), serving_a_request(), django_capture_on_commit_callbacks(execute=True):
        ncr = quality.ncr_create(title="A")  # the change stands

    assert NCR.objects.filter(pk=ncr.pk).exists() and broker_messages() == []
    assert not WebhookDelivery.objects.filter(enqueued_at__isnull=False).exists()
    assert services.deliveries_sweep() == 2  # the next sweep sends them
    assert sorted(deliveries_handed_to_workers()) == sorted(
        WebhookDelivery.objects.values_list("id", flat=True)
    )


def test_a_rolled_back_ncr_update_leaves_no_event_and_sends_nothing(
    make_subscription, django_capture_on_commit_callbacks
):
    make_subscription()
    ncr = quality.ncr_create(title="A")
    WebhookEvent.objects.all().delete()

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        quality.ncr_update(ncr, {"title": "B"})
        raise RuntimeError("the caller fails after the NCR was changed")

    assert callbacks == [] and broker_messages() == []
    assert WebhookEvent.objects.count() == 0 and WebhookDelivery.objects.count() == 0
    assert NCR.objects.get(pk=ncr.pk).title == "A"


def test_an_event_goes_only_to_active_subscriptions_that_list_its_type(make_subscription):
    both, _ = make_subscription(name="Both", events=["ncr.updated", "ncr.created"])
    make_subscription(name="Other", events=["ncr.created", "capa.updated"])
    make_subscription(name="Off", events=["ncr.updated"], is_active=False)
    ncr = quality.ncr_create(title="A")
    WebhookEvent.objects.all().delete()

    event = services.event_publish(event_type="ncr.updated", data={"id": ncr.pk})

    assert event is not None and WebhookEvent.objects.get().pk == event.pk
    assert list(event.deliveries.values_list("subscription_id", flat=True)) == [both.pk]
    assert services.event_publish(event_type="capa.closed", data={}) is None
    assert WebhookEvent.objects.count() == 1
