"""The delivery policy: a retry schedule spanning days by default (or the exponential policy
of subscriptions that keep max_retries + retry_delay_seconds), and the circuit breaker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from quality import services as quality
from webhooks import services
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db


def only_delivery() -> WebhookDelivery:
    return WebhookDelivery.objects.select_related("event", "subscription").get()


def make_due(delivery_id: int) -> None:
    WebhookDelivery.objects.filter(pk=delivery_id).update(next_attempt_at=timezone.now())


def test_a_new_subscription_retries_by_the_standard_schedule_and_then_gives_up(
    make_subscription, receiver, settings
):
    settings.WEBHOOK_CIRCUIT_FAILURES = 100  # the breaker would hold the retries back
    subscription, _ = make_subscription()
    assert subscription.retry_schedule == [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    receiver.respond(*[503] * 10)
    quality.ncr_create(title="A")
    delivery_id = only_delivery().pk
    waits = []
    for _ in range(10):
        attempt = services.delivery_attempt(delivery_id=delivery_id)
        delivery = only_delivery()
        if delivery.next_attempt_at:
            waits.append((delivery.next_attempt_at - attempt.started_at).total_seconds())
        make_due(delivery_id)

    for wait, nominal in zip(waits, subscription.retry_schedule, strict=True):
        assert 0.8 * nominal - 0.5 <= wait <= 1.2 * nominal + 0.5
    assert (only_delivery().status, only_delivery().attempt_count) == ("failed", 10)


def test_a_subscription_with_its_own_schedule_retries_by_it(make_subscription, receiver):
    make_subscription(retry_schedule=[60, 60])
    receiver.respond(503, 503, 503)
    quality.ncr_create(title="A")
    delivery_id = only_delivery().pk
    for _ in range(3):
        services.delivery_attempt(delivery_id=delivery_id)
        make_due(delivery_id)

    assert (only_delivery().status, WebhookAttempt.objects.count()) == ("failed", 3)


def test_giving_max_retries_chooses_the_exponential_policy(make_subscription, receiver):
    subscription, _ = make_subscription(max_retries=2, retry_delay_seconds=10)

    assert subscription.retry_schedule is None


@pytest.mark.parametrize("schedule", [[0], ["5"], [5.5], [86401], list(range(1, 30)), {"a": 1}])
def test_a_schedule_that_is_not_a_list_of_waits_is_refused(make_subscription, schedule):
    with pytest.raises(ValidationError) as refused:
        make_subscription(retry_schedule=schedule)

    assert "retry_schedule" in refused.value.message_dict


def test_the_rest_api_sets_and_shows_the_schedule(admin_api, receiver):
    created = admin_api.post(
        "/api/webhooks/",
        {"name": "ERP", "url": receiver.url, "events": ["ncr.created"], "retry_schedule": [30]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["retry_schedule"] == [30]

    refused = admin_api.patch(
        f"/api/webhooks/{created.json()['id']}/", {"retry_schedule": [-1]}, format="json"
    )
    assert refused.status_code == 400 and "retry_schedule" in refused.json()["errors"]


@pytest.mark.django_db(transaction=True)
def test_subscriptions_made_before_schedules_keep_their_retry_settings():
    executor = MigrationExecutor(connection)
    executor.migrate([("webhooks", "0002_queue_probe")])
    old_apps = executor.loader.project_state([("webhooks", "0002_queue_probe")]).apps
    old_apps.get_model("webhooks", "WebhookSubscription").objects.create(
        name="old",
        url="https://erp.example.com/hook",
        events=["ncr.created"],
        max_retries=3,
        retry_delay_seconds=120,
        secret_encrypted="x",
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    kept = WebhookSubscription.objects.get(name="old")
    assert (kept.retry_schedule, kept.max_retries, kept.retry_delay_seconds) == (None, 3, 120)


# --- the circuit breaker -------------------------------------------------------------------
def fail_attempts(count: int, receiver, subscription) -> list[int]:
    """`count` NCRs whose first attempt fails; their delivery ids."""
    receiver.respond(*[503] * count)
    ids = []
    for n in range(count):
        quality.ncr_create(title=f"failing {n}")
        delivery = WebhookDelivery.objects.filter(subscription=subscription).latest("id")
        services.delivery_attempt(delivery_id=delivery.pk)
        ids.append(delivery.pk)
    return ids


def test_after_five_failed_attempts_in_a_row_further_deliveries_wait_without_spending_attempts(
    make_subscription, receiver, settings
):
    settings.WEBHOOK_CIRCUIT_FAILURES = 5
    subscription, _ = make_subscription()
    fail_attempts(5, receiver, subscription)
    subscription.refresh_from_db()
    assert subscription.circuit_opened_at is not None
    quality.ncr_create(title="waits")
    waiting = WebhookDelivery.objects.latest("id")
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        circuit_probe_at=timezone.now() + timedelta(seconds=60)
    )

    assert services.delivery_attempt(delivery_id=waiting.pk) is None

    waiting.refresh_from_db()
    assert len(receiver.requests) == 5  # nothing sent to the failing receiver
    assert (waiting.status, waiting.attempt_count) == ("pending", 0)
    assert waiting.next_attempt_at >= timezone.now() + timedelta(seconds=55)
    stats = services.subscription_statistics(subscription=subscription, days=1)
    assert stats["circuit"]["state"] == "open"
    assert stats["circuit"]["failed_attempts_in_row"] == 5


def test_an_open_circuit_sends_one_probe_per_interval_and_its_success_releases_the_rest(
    make_subscription, receiver, settings, clock
):
    settings.WEBHOOK_CIRCUIT_FAILURES = 3
    settings.WEBHOOK_CIRCUIT_PROBE_SECONDS = 60
    subscription, _ = make_subscription()
    fail_attempts(3, receiver, subscription)
    for n in range(4):
        quality.ncr_create(title=f"waiting {n}")
    waiting = list(
        WebhookDelivery.objects.filter(status="pending", attempt_count=0).values_list(
            "id", flat=True
        )
    )
    clock.advance(61)  # the probe time has come
    WebhookDelivery.objects.filter(pk__in=waiting).update(next_attempt_at=timezone.now())

    attempts = services.deliveries_attempt(delivery_ids=waiting)

    assert len(attempts) == 1 and attempts[0].succeeded  # one probe, not four
    subscription.refresh_from_db()
    assert subscription.circuit_opened_at is None and subscription.failed_attempts_in_row == 0
    held = WebhookDelivery.objects.filter(pk__in=waiting, status="pending")
    assert held.count() == 3 and {d.attempt_count for d in held} == {0}
    # Closed: what it held back is due at once (and enqueued), not at the next probe time.
    assert all(d.next_attempt_at <= timezone.now() for d in held)
    assert len(services.deliveries_attempt(delivery_ids=waiting)) == 3
    assert (
        services.subscription_statistics(subscription=subscription, days=1)["circuit"]["state"]
        == "closed"
    )


def test_a_failed_probe_keeps_the_circuit_open_until_the_next_interval(
    make_subscription, receiver, settings, clock
):
    settings.WEBHOOK_CIRCUIT_FAILURES = 2
    subscription, _ = make_subscription()
    fail_attempts(2, receiver, subscription)
    quality.ncr_create(title="probe")
    probe = WebhookDelivery.objects.latest("id")
    clock.advance(61)
    make_due(probe.pk)
    receiver.respond(503)

    [attempt] = services.deliveries_attempt(delivery_ids=[probe.pk])

    subscription.refresh_from_db()
    assert not attempt.succeeded and subscription.circuit_opened_at is not None
    assert subscription.circuit_probe_at > timezone.now() + timedelta(seconds=55)


def test_a_manual_retry_is_not_held_back_by_an_open_circuit(make_subscription, receiver, settings):
    settings.WEBHOOK_CIRCUIT_FAILURES = 1
    subscription, _ = make_subscription()
    [delivery_id] = fail_attempts(1, receiver, subscription)

    attempt = services.delivery_retry_now(delivery=WebhookDelivery.objects.get(pk=delivery_id))

    assert attempt.succeeded
    subscription.refresh_from_db()
    assert subscription.circuit_opened_at is None


def test_the_admin_page_of_a_subscription_shows_its_circuit(
    make_subscription, receiver, settings, admin_client
):
    settings.WEBHOOK_CIRCUIT_FAILURES = 1
    subscription, _ = make_subscription()
    fail_attempts(1, receiver, subscription)

    page = admin_client.get(f"/admin/webhooks/webhooksubscription/{subscription.pk}/change/")

    assert page.status_code == 200
    assert "open since" in page.content.decode() and "next probe" in page.content.decode()


# --- throttling ----------------------------------------------------------------------------
def test_deliveries_over_max_in_flight_wait_without_spending_attempts(
    make_subscription, receiver, published
):
    make_subscription(max_in_flight=1)
    for n in range(3):
        quality.ncr_create(title=f"NCR {n}")
    ids = list(WebhookDelivery.objects.order_by("id").values_list("id", flat=True))
    # Another worker is sending the first one right now.
    assert services.delivery_claim(delivery_id=ids[0], now=timezone.now())
    published.clear()

    assert services.deliveries_attempt(delivery_ids=ids[1:]) == []

    waiting = WebhookDelivery.objects.filter(pk__in=ids[1:])
    assert {(d.status, d.attempt_count) for d in waiting} == {("pending", 0)}
    assert receiver.requests == []
    assert sorted(args[0] for task, args in published) == ids[1:]  # sent again shortly


def test_a_batch_sends_at_most_max_in_flight_of_a_subscription_at_once(make_subscription, receiver):
    make_subscription(max_in_flight=2)
    for n in range(5):
        quality.ncr_create(title=f"NCR {n}")
    ids = list(WebhookDelivery.objects.values_list("id", flat=True))

    attempts = services.deliveries_attempt(delivery_ids=ids)

    assert len(attempts) == 2 and len(receiver.requests) == 2
    assert WebhookDelivery.objects.filter(status="pending", attempt_count=0).count() == 3


def test_max_deliveries_per_second_defers_the_rest_to_the_next_second(make_subscription, receiver):
    make_subscription(max_deliveries_per_second=2)
    for n in range(5):
        quality.ncr_create(title=f"NCR {n}")
    ids = list(WebhookDelivery.objects.values_list("id", flat=True))
    started = timezone.now()

    attempts = services.deliveries_attempt(delivery_ids=ids)

    assert len(attempts) == 2
    deferred = WebhookDelivery.objects.filter(status="pending")
    assert deferred.count() == 3 and {d.attempt_count for d in deferred} == {0}
    assert all(started < d.next_attempt_at <= started + timedelta(seconds=1.01) for d in deferred)


def test_throttling_limits_are_set_over_rest(admin_api, receiver):
    created = admin_api.post(
        "/api/webhooks/",
        {
            "name": "ERP",
            "url": receiver.url,
            "events": ["ncr.created"],
            "max_deliveries_per_second": 50,
            "max_in_flight": 4,
        },
        format="json",
    )

    assert created.status_code == 201, created.json()
    assert (created.json()["max_deliveries_per_second"], created.json()["max_in_flight"]) == (50, 4)
    refused = admin_api.patch(
        f"/api/webhooks/{created.json()['id']}/", {"max_in_flight": 0}, format="json"
    )
    assert refused.status_code == 400 and "max_in_flight" in refused.json()["errors"]


RATE_COUNTER = """
import os, sys, time
os.environ.update(DEBUG="true", EQMS_VAR_DIR=sys.argv[1], CACHE_URL="")
os.environ.pop("REDIS_URL", None)
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eqms_integration.settings")
django.setup()
from datetime import datetime, UTC
from webhooks.services import throttle
second = datetime.fromtimestamp(float(sys.argv[2]), UTC)
time.sleep(max(float(sys.argv[3]) - time.time(), 0))  # all processes start together
print(sum(throttle._rate_allowance(7, 20, 3, second) for _ in range(int(sys.argv[4]))))
"""


def test_worker_processes_counting_one_second_on_the_embedded_cache_never_start_more_than_the_limit(
    tmp_path,
):
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    second, start_at = str(time.time() + 60), str(time.time() + 3)

    workers = [
        subprocess.Popen(
            [sys.executable, "-c", RATE_COUNTER, str(tmp_path), second, start_at, "10"],
            cwd=root,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]

    admitted = [int(worker.communicate(timeout=120)[0].strip()) for worker in workers]
    # 4 processes x 10 claims of 3 ask for 120 starts in one second limited to 20: exactly 20
    # start (the embedded stack's file cache counts under a lock every process shares).
    assert sum(admitted) == 20
