"""Operational events (issue 16): published through the outbox from the same decision as the
alert, signed and retried like NCR/CAPA events, one per occurrence, received by a real HTTP
receiver that verifies them with the standardwebhooks library; never a loop of a
subscription's own failures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from apikeys import services as keys
from audit.models import AuditEvent
from operations.models import Alert
from operations.tasks import sweep_alerts
from quality import services as quality
from sync.engine.runner import execute
from sync.services.runs import run_claim, run_retry
from tests.sync.sources import SQLiteSource
from tests.sync.test_engine import configure, rows, run
from tests.webhooks.conftest import Receiver, wait_for
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEvent

pytestmark = pytest.mark.django_db
BASE = "https://eqms.plant.example"
OPS = [
    "webhook.subscription.disabled",
    "webhook.delivery.exhausted",
    "sync.run.failed",
    "sync.conflict.pending",
    "apikey.expiring",
]


@pytest.fixture
def ops_receiver(allow_loopback, settings) -> Iterator[Receiver]:
    settings.EQMS_BASE_URL = BASE
    server = Receiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def operator(ops_receiver):
    """A monitoring system subscribed to every operational event; its secret."""
    return services.subscription_create(name="Monitoring", url=ops_receiver.url, events=OPS)


def deliver_all(**filters) -> None:
    """One attempt of every delivery due, oldest first (what the workers do)."""
    rows = WebhookDelivery.objects.filter(status="pending", **filters).order_by("id")
    for delivery_id in rows.values_list("id", flat=True):
        WebhookDelivery.objects.filter(pk=delivery_id).update(next_attempt_at=timezone.now())
        services.delivery_attempt(delivery_id=delivery_id)


def received(receiver: Receiver, secret: str) -> list[dict]:
    """The bodies the receiver got, each verified (signature, timestamp) as a receiver does."""
    return [Webhook(secret).verify(r.body, r.headers) for r in receiver.requests]


def test_a_subscription_disabled_by_a_410_is_one_signed_event_naming_it_the_reason_and_a_link(
    make_subscription, receiver, ops_receiver, operator
):
    erp, _ = make_subscription(name="ERP", events=["ncr.created"])
    _, secret = operator
    receiver.respond(410)
    quality.ncr_create(title="Weld crack")
    quality.ncr_create(title="Dent")  # the second delivery finds ERP disabled: no new event

    deliver_all(subscription=erp)
    deliver_all()

    [body] = received(ops_receiver, secret)
    assert body["event"] == "webhook.subscription.disabled"
    assert ops_receiver.requests[0].headers["X-Webhook-Event"] == body["event"]
    data = body["data"]
    assert data["object"] == {"type": "webhook_subscription", "id": erp.pk, "name": "ERP"}
    assert data["reason"].startswith("The receiver answered 410 Gone on ")
    assert data["link"] == f"{BASE}/admin/webhooks/webhooksubscription/{erp.pk}/change/"
    assert Alert.objects.get().kind == "webhook.subscription.disabled"  # the same decision


def test_an_operational_event_is_retried_like_any_other_until_the_receiver_takes_it(
    make_subscription, receiver, ops_receiver, operator
):
    make_subscription(name="MES", events=["ncr.created"], retry_enabled=False)
    _, secret = operator
    receiver.respond(500)
    ops_receiver.respond(503, 502)
    quality.ncr_create(title="Weld crack")

    deliver_all(subscription__name="MES")
    for _ in range(3):
        deliver_all(subscription__name="Monitoring")

    bodies = received(ops_receiver, secret)
    assert [b["event"] for b in bodies] == ["webhook.delivery.exhausted"] * 3
    assert len({b["id"] for b in bodies}) == 1  # the same message, retried
    [header_attempts] = [[r.headers["X-Webhook-Delivery-Attempt"] for r in ops_receiver.requests]]
    assert header_attempts == ["1", "2", "3"]
    data = bodies[0]["data"]
    assert data["subscription"]["name"] == "MES" and data["event_type"] == "ncr.created"
    assert (data["attempts"], data["last_status_code"]) == (1, 500)
    assert data["reason"] == "Gave up after 1 attempt: The receiver answered 500."
    delivery = WebhookDelivery.objects.get(subscription__name="MES")
    assert data["object"]["id"] == delivery.pk
    assert data["link"] == f"{BASE}/admin/webhooks/webhookdelivery/{delivery.pk}/change/"


def test_a_subscription_is_never_told_of_its_own_failures(
    make_subscription, receiver, ops_receiver, operator, settings
):
    settings.WEBHOOK_MAX_CONSECUTIVE_FAILURES = 2
    own, _ = make_subscription(name="ERP", events=["ncr.created", *OPS], retry_enabled=False)
    receiver.respond(500, 500)
    quality.ncr_create(title="A")
    quality.ncr_create(title="B")

    deliver_all(subscription=own)

    own.refresh_from_db()
    assert not own.is_active  # two deliveries exhausted, then disabled
    kinds = sorted(Alert.objects.values_list("kind", flat=True))
    assert kinds == ["webhook.delivery.exhausted"] * 2 + ["webhook.subscription.disabled"]
    to_itself = WebhookDelivery.objects.filter(subscription=own, event__event_type__in=OPS)
    assert not to_itself.exists()
    told = WebhookDelivery.objects.filter(subscription__name="Monitoring")
    assert sorted(told.values_list("event__event_type", flat=True)) == kinds  # others are


def test_two_failing_receivers_of_operational_events_do_not_feed_each_other(
    make_subscription, receiver, settings
):
    settings.WEBHOOK_MAX_CONSECUTIVE_FAILURES = 100
    make_subscription(
        name="A", events=["ncr.created", "webhook.delivery.exhausted"], retry_enabled=False
    )
    make_subscription(name="B", events=["webhook.delivery.exhausted"], retry_enabled=False)
    receiver.respond(*[500] * 10)
    quality.ncr_create(title="A")

    for _ in range(4):
        deliver_all()

    # A's NCR delivery gave up: one event, to B only. B's delivery of it gave up: an alert,
    # but no event about a delivery of an operational event.
    assert WebhookEvent.objects.filter(event_type="webhook.delivery.exhausted").count() == 1
    assert Alert.objects.filter(kind="webhook.delivery.exhausted").count() == 2
    assert len(receiver.requests) == 2


def test_a_sync_run_retried_until_it_gives_up_is_one_event(
    tmp_path, sync_test_systems, ops_receiver, operator
):
    _, secret = operator
    source = SQLiteSource(tmp_path)
    source.create()
    source.insert(rows(2))
    config = configure(source, max_retries=1)
    with source.cursor() as cur:
        cur.execute(f"DROP TABLE {source.table}")

    first = run(config)
    deliver_all()
    assert ops_receiver.requests == []  # the sweeper would retry it
    last = execute(run_claim(run_retry(run=first).pk))
    deliver_all()

    [body] = received(ops_receiver, secret)
    assert body["event"] == "sync.run.failed"
    data = body["data"]
    assert data["object"] == {
        "type": "sync_run",
        "id": last.pk,
        "name": f"ERP equipment, run {last.pk}",
    }
    assert data["configuration"] == {"id": config.pk, "name": "ERP equipment"}
    assert (data["status"], data["attempt"], data["max_attempts"]) == ("failed", 2, 2)
    assert data["reason"].startswith("Failed on attempt 2 of 2; no retry left.")
    assert data["link"] == f"{BASE}/admin/sync/syncrun/{last.pk}/change/"


def test_a_key_about_to_expire_is_one_event_per_expiry_date(ops_receiver, operator):
    _, secret = operator
    issued = keys.apikey_create(
        name="ERP", scopes=["ncr:read"], expires_at=timezone.now() + timedelta(days=3)
    )

    sweep_alerts()
    sweep_alerts()
    deliver_all()

    [body] = received(ops_receiver, secret)
    assert body["event"] == "apikey.expiring"
    data = body["data"]
    assert data["object"] == {"type": "api_key", "id": issued.api_key.pk, "name": "ERP"}
    assert data["key_id"] == issued.api_key.key_id
    assert issued.key not in ops_receiver.requests[0].body  # the key itself never
    assert data["link"] == f"{BASE}/admin/apikeys/apikey/{issued.api_key.pk}/change/"


def test_a_rolled_back_occurrence_publishes_nothing(make_subscription, receiver, operator):
    from operations import occurrences

    erp, _ = make_subscription(name="ERP")
    with pytest.raises(RuntimeError), transaction.atomic():
        occurrences.subscription_disabled(subscription=erp, reason="Gone")
        assert WebhookEvent.objects.filter(event_type="webhook.subscription.disabled").exists()
        raise RuntimeError("rollback")

    assert not WebhookEvent.objects.exists() and not Alert.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_the_operational_event_of_a_disabling(
    make_subscription, receiver, ops_receiver, operator, celery_worker
):
    _, secret = operator
    make_subscription(name="ERP", events=["ncr.created"])
    receiver.respond(410)

    quality.ncr_create(title="Weld crack")
    wait_for(lambda: len(ops_receiver.requests) == 1)

    [body] = received(ops_receiver, secret)
    assert body["event"] == "webhook.subscription.disabled"
    assert body["data"]["object"]["name"] == "ERP"
    [disabled] = AuditEvent.objects.filter(object_type="webhook_subscription", action="disabled")
    assert (disabled.channel, disabled.actor_type) == ("task", "system")  # by the service
    assert disabled.actor_name.startswith("task webhooks.")


def test_a_subscription_can_choose_the_operational_events_through_the_api(client_for, ops_receiver):
    api = client_for("Admin")

    chosen = api.post(
        "/api/webhooks/", {"name": "Ops", "url": ops_receiver.url, "events": OPS}, format="json"
    )
    unknown = api.post(
        "/api/webhooks/",
        {"name": "Ops", "url": ops_receiver.url, "events": ["sync.run.exploded"]},
        format="json",
    )

    assert chosen.status_code == 201 and chosen.json()["events"] == OPS
    assert unknown.status_code == 400 and "events" in unknown.json()["errors"]
