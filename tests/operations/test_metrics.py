"""GET /metrics: Prometheus text, parsed back with prometheus-client's own parser; served only
with METRICS_TOKEN to its bearer; the counters of several processes add up."""

from __future__ import annotations

import signal

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from apikeys import services as keys
from quality import services as quality
from tests.conftest import WORKER_ARGS, stop
from tests.sync.sources import SQLiteSource
from tests.sync.test_engine import configure, rows, run
from tests.webhooks.conftest import wait_for
from webhooks import services as webhooks
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db
TOKEN = "scrape-token-0123456789abcdef"


@pytest.fixture
def scrape(client, settings):
    settings.METRICS_TOKEN = TOKEN

    def read() -> dict[tuple[str, tuple], float]:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain; version=")
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.content.decode())
            for sample in family.samples
        }

    return read


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_do_not_exist_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""

    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything")

    assert response.status_code == 404


@pytest.mark.parametrize(
    "authorization", [None, "", "Bearer", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x"]
)
def test_metrics_need_the_bearer_token(client, settings, authorization):
    settings.METRICS_TOKEN = TOKEN
    extra = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}

    response = client.get("/metrics", **extra)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert "eqms_" not in response.content.decode()


def test_http_answers_are_counted_by_status(client, scrape):
    before = scrape()
    client.get("/api/no-such-endpoint/")
    client.get("/api/no-such-endpoint/")
    client.get("/healthz")
    after = scrape()

    assert (
        value(after, "eqms_http_requests_total", status="404")
        - value(before, "eqms_http_requests_total", status="404")
        == 2
    )
    # the first scrape itself was a 200
    assert (
        value(after, "eqms_http_requests_total", status="200")
        - value(before, "eqms_http_requests_total", status="200")
        == 2
    )


def test_api_key_authentications_are_counted_by_outcome(scrape):
    issued = keys.apikey_create(name="ERP", scopes=["ncr:read"])
    wrong = issued.key[:-6] + ("A" if issued.key[-6] != "A" else "B") + issued.key[-5:]
    before = scrape()

    for key, status in ((issued.key, 200), (wrong, 401), ("garbage", 401)):
        assert APIClient().get("/api/ncrs/", HTTP_X_API_KEY=key).status_code == status
    after = scrape()

    def delta(outcome: str) -> float:
        name = "eqms_api_key_auth_total"
        return value(after, name, outcome=outcome) - value(before, name, outcome=outcome)

    assert (delta("accepted"), delta("rejected"), delta("throttled")) == (1, 2, 0)


def test_webhook_attempts_are_counted_and_timed_and_the_backlog_is_read_at_scrape_time(
    make_subscription, receiver, scrape
):
    make_subscription(max_retries=3, retry_delay_seconds=10)
    receiver.respond(500)
    before = scrape()
    quality.ncr_create(title="A")
    quality.ncr_create(title="B")
    assert value(scrape(), "eqms_webhook_backlog", state="pending") == 2
    assert value(scrape(), "eqms_webhook_backlog", state="due") == 2

    for delivery in WebhookDelivery.objects.order_by("id"):
        webhooks.delivery_attempt(delivery_id=delivery.pk)
    after = scrape()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("eqms_webhook_deliveries_total", outcome="retry") == 1
    assert delta("eqms_webhook_deliveries_total", outcome="succeeded") == 1
    assert delta("eqms_webhook_delivery_seconds_count") == 2
    assert delta("eqms_webhook_delivery_seconds_bucket", le="+Inf") == 2
    assert value(after, "eqms_webhook_backlog", state="pending") == 1  # the one to retry
    assert value(after, "eqms_webhook_backlog", state="due") == 0  # not before its backoff


def test_sync_rows_and_run_durations_are_counted_per_configuration(
    tmp_path, sync_test_systems, scrape
):
    source = SQLiteSource(tmp_path)
    source.create()
    source.insert(rows(4))
    config = configure(source, name="ERP gauges")
    before = scrape()

    run(config)
    run(config, full=True, dry_run=True)  # a dry run writes nothing and counts no rows
    after = scrape()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("eqms_sync_rows_total", configuration="ERP gauges", outcome="created") == 4
    assert delta("eqms_sync_rows_total", configuration="ERP gauges", outcome="updated") == 0
    assert delta("eqms_sync_run_seconds_count", status="success") == 2


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_process_and_this_process_add_up_in_one_counter(
    make_subscription, receiver, scrape, start_celery
):
    make_subscription(events=["ncr.created"])
    before = scrape()
    quality.ncr_create(title="Delivered by this process")
    webhooks.delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)
    # Enqueued on this test's memory broker, which no worker reads: the worker's own sweeper
    # (embedded beat) finds it due and sends it.
    quality.ncr_create(title="Delivered by the worker")

    worker = start_celery(
        "worker",
        *WORKER_ARGS,
        "--beat",
        "--pool",
        "prefork",
        "--concurrency",
        "1",
        WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8",
        WEBHOOK_SWEEP_INTERVAL_SECONDS="1",
        WEBHOOK_REQUEUE_AFTER_SECONDS="1",
    )
    wait_for(lambda: not WebhookDelivery.objects.exclude(status="succeeded").exists(), timeout=90)
    stop(worker, signal.SIGTERM)
    after = scrape()

    assert len(receiver.requests) == 2
    name = "eqms_webhook_deliveries_total"
    assert value(after, name, outcome="succeeded") - value(before, name, outcome="succeeded") == 2
