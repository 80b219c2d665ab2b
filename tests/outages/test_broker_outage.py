"""Redis as the broker goes down mid-test: the REST API keeps answering (what it changes is
committed, and its messages go out once the broker is back), the outage is logged once, and
every webhook delivery and sync run is carried out afterwards by a real worker."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from rest_framework.test import APIClient

from quality.models import NCR
from sync.models import SyncRun
from tests.conftest import retry_is_due
from tests.sync.sources import SQLiteSource
from tests.sync.test_engine import configure, rows
from tests.webhooks import conftest as webhook_fixtures
from tests.webhooks.conftest import wait_for
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)

# A receiver on 127.0.0.1 and subscriptions pointing at it, and Django's clock moved on demand.
receiver = webhook_fixtures.receiver
allow_loopback = webhook_fixtures.allow_loopback
make_subscription = webhook_fixtures.make_subscription
clock = webhook_fixtures.clock


@pytest.fixture
def redis_broker(redis_server) -> Iterator[object]:
    """Celery publishes to the test's own Redis."""
    from eqms_integration.celery import app

    saved = (app.conf.broker_url, app.conf.broker_transport_options)
    app.conf.broker_url = redis_server.url(1)
    app.conf.broker_transport_options = {}
    webhook_fixtures._reset_pools(app)
    yield redis_server
    app.conf.broker_url, app.conf.broker_transport_options = saved
    webhook_fixtures._reset_pools(app)


@pytest.fixture
def start_worker():
    """A real Celery worker (threads, in this process) on the test's broker, once it is up."""
    from celery.contrib.testing.worker import start_worker as celery_worker
    from django.db import connections

    from eqms_integration.celery import app

    started = []

    def start() -> None:
        context = celery_worker(
            app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=20
        )
        context.__enter__()
        started.append(context)

    yield start
    for context in started:
        context.__exit__(None, None, None)
    connections.close_all()


def test_the_api_keeps_answering_while_the_broker_is_down_and_nothing_is_lost(
    redis_broker,
    make_subscription,
    receiver,
    make_user,
    tmp_path,
    settings,
    clock,
    start_worker,
    log_lines,
):
    from sync.services.runs import runs_sweep
    from webhooks.services import deliveries_sweep

    settings.SYNC_SQLITE_DIRS = [str(tmp_path)]
    source = SQLiteSource(tmp_path)
    source.create()
    source.insert(rows(7))
    config = configure(source, batch_size=3)
    for name in ("ERP", "MES"):
        make_subscription(name=name, url=f"{receiver.url}/{name}")
    client = APIClient()
    client.force_authenticate(make_user("manager", role="Manager"))

    redis_broker.stop()
    started = time.monotonic()
    created = [client.post("/api/ncrs/", {"title": f"NCR {n}"}, format="json") for n in range(5)]
    took = time.monotonic() - started
    executed = client.post(f"/api/sync/configurations/{config.pk}/execute/", {}, format="json")
    ready = client.get("/readyz")

    redis_broker.start()
    start_worker()
    retry_is_due("broker")  # this process sweeps too: it would not try for a few seconds
    clock.advance(1)  # the next sweep, as celery-beat sends it once the broker is back
    deliveries_sweep()
    wait_for(lambda: WebhookDelivery.objects.filter(status="succeeded").count() == 10)
    clock.advance(3 * 60)  # the run's message never left: the sweeper sends it again
    assert runs_sweep()["requeued"] == 1
    wait_for(lambda: SyncRun.objects.get().status == "success")

    assert [r.status_code for r in created] == [201] * 5
    assert took < 10  # one publish waits for the broker; the next ones do not try for 5 s
    assert executed.status_code == 202
    assert ready.status_code == 503 and ready.json()["checks"]["broker"]["ok"] is False
    numbers = sorted(NCR.objects.values_list("number", flat=True))
    received = sorted(r.json["data"]["number"] for r in receiver.requests)
    assert received == sorted(numbers * 2)  # every event to both receivers, once
    assert SyncRun.objects.get().processed == 7
    down = log_lines.outages("broker")
    assert len(down) >= 1 and down[0].startswith("broker unavailable (OperationalError: ")
    assert len([line for line in down if "unavailable" in line]) == 1
    assert log_lines.tracebacks == []
