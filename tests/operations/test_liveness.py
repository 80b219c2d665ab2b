"""Workers and beat record heartbeats; /readyz reports them (degraded, still 200, when they
are missing: the web process itself can serve). Real worker and beat processes."""

from __future__ import annotations

import signal

import pytest
from django.utils import timezone

from operations.models import Heartbeat
from operations.services import heartbeat_record
from tests.conftest import WORKER_ARGS, stop
from tests.webhooks.conftest import wait_for


def checks(client) -> tuple[int, dict]:
    response = client.get("/readyz")
    return response.status_code, response.json()


def alive(kind: str) -> bool:
    return Heartbeat.objects.filter(kind=kind, stopped_at__isnull=True).exists()


@pytest.mark.django_db
def test_readyz_without_any_worker_or_beat_is_degraded_but_still_200(client):
    status, body = checks(client)

    assert status == 200
    assert body["status"] == "degraded"
    assert body["checks"]["worker"] == {
        "ok": False,
        "alive": 0,
        "age_seconds": None,
        "error": "no worker has reported yet",
    }
    assert body["checks"]["beat"]["error"] == "no beat has reported yet"
    assert all(body["checks"][name]["ok"] for name in ("database", "broker", "cache"))


@pytest.mark.django_db
def test_readyz_says_no_worker_seen_for_n_seconds_once_its_heartbeat_is_two_minutes_old(
    client, clock
):
    started = timezone.now()
    heartbeat_record(kind="worker", name="celery@plant-a", started_at=started)
    heartbeat_record(kind="beat", name="beat@plant-a", started_at=started)
    status, body = checks(client)
    assert (status, body["status"]) == (200, "ready")
    assert body["checks"]["worker"]["alive"] == 1

    clock.advance(119)
    heartbeat_record(kind="beat", name="beat@plant-a", started_at=started)
    assert checks(client)[1]["status"] == "ready"  # 119 s: still within the 2 minutes

    clock.advance(11)
    status, body = checks(client)

    assert status == 200 and body["status"] == "degraded"
    assert body["checks"]["worker"]["ok"] is False
    assert body["checks"]["worker"]["error"] == "no worker seen for 130 s"
    assert body["checks"]["worker"]["age_seconds"] == 130
    assert body["checks"]["beat"]["ok"] is True  # it beat 11 s ago


@pytest.mark.django_db
def test_readyz_names_no_process(client):
    heartbeat_record(kind="worker", name="celery@secret-host-7", started_at=timezone.now())

    assert "secret-host-7" not in client.get("/readyz").content.decode()


@pytest.mark.django_db
def test_two_beats_alive_are_reported_as_a_warning(client):
    for host in ("a", "b"):
        heartbeat_record(kind="beat", name=f"beat@{host}", started_at=timezone.now())

    beat = checks(client)[1]["checks"]["beat"]

    assert beat["ok"] is True and beat["warning"] == "2 beats are running; run exactly one"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("pool", ["prefork", "threads"])
def test_a_real_worker_beats_until_it_stops_and_then_says_it_stopped(client, start_celery, pool):
    worker = start_celery("worker", *WORKER_ARGS, "--pool", pool, "--concurrency", "2")

    wait_for(lambda: alive("worker"), timeout=90)
    first = Heartbeat.objects.get(kind="worker")
    assert first.name.startswith("celery@") and first.pid == worker.pid
    wait_for(lambda: Heartbeat.objects.get(kind="worker").seen_at > first.seen_at, timeout=30)
    status, body = checks(client)
    assert status == 200 and body["checks"]["worker"]["ok"] is True
    assert body["checks"]["worker"]["age_seconds"] <= 5

    worker.terminate()  # SIGTERM to the main process: a warm shutdown, as `celery` documents
    worker.wait(timeout=90)  # worker_shutdown has recorded that it stopped

    row = Heartbeat.objects.get(kind="worker")
    assert row.stopped_at is not None
    body = checks(client)[1]
    assert body["checks"]["worker"]["ok"] is False
    assert body["checks"]["worker"]["error"].startswith("no worker seen for")


@pytest.mark.django_db(transaction=True)
def test_a_real_beat_beats_as_it_ticks_and_a_killed_one_goes_stale(client, start_celery, clock):
    beat = start_celery("beat", "beat", "--loglevel", "INFO")

    wait_for(lambda: alive("beat"), timeout=90)
    first = Heartbeat.objects.get(kind="beat")
    wait_for(lambda: Heartbeat.objects.get(kind="beat").seen_at > first.seen_at, timeout=30)
    assert checks(client)[1]["checks"]["beat"]["ok"] is True

    stop(beat, signal.SIGKILL)  # no shutdown at all: only silence tells
    assert Heartbeat.objects.get(kind="beat").stopped_at is None
    clock.advance(121)
    body = checks(client)[1]

    assert body["status"] == "degraded"
    assert body["checks"]["beat"]["ok"] is False
    assert body["checks"]["beat"]["error"].startswith("no beat seen for 12")


@pytest.mark.django_db
def test_with_the_database_down_readyz_is_503_and_does_not_wait_for_it_twice(client, monkeypatch):
    from eqms_integration import health
    from operations import selectors

    def down() -> None:
        raise ConnectionError("database unreachable")

    def must_not_ask(*args: object) -> None:
        raise AssertionError("liveness read with the database down")

    monkeypatch.setitem(health.CHECKS, "database", down)
    monkeypatch.setattr(selectors, "liveness", must_not_ask)

    status, body = checks(client)

    assert (status, body["status"]) == (503, "unavailable")
    assert body["checks"]["worker"] == {
        "ok": False,
        "error": "unknown: the database is unavailable",
    }
