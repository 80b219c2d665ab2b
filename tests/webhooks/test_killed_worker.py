"""A Celery worker process killed (SIGKILL) in the middle of a delivery loses nothing: after a
restart the sweeper hands the delivery over once its lease has expired, and it is delivered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from quality import services as quality
from tests.conftest import database_url_for_subprocess
from tests.webhooks.conftest import wait_for
from webhooks.models import WebhookDelivery

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 30  # the smallest lease the settings accept


def start_worker(tmp_path: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")}
    env.update(
        {
            "DATABASE_URL": database_url_for_subprocess(),
            "EQMS_VAR_DIR": str(tmp_path),  # a file broker of its own
            "CACHE_URL": "locmemcache://",
            "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
            "WEBHOOK_LEASE_SECONDS": str(LEASE_SECONDS),
            "WEBHOOK_SWEEP_INTERVAL_SECONDS": "1",
            "WEBHOOK_REQUEUE_AFTER_SECONDS": "1",
            "PYTHONPATH": str(ROOT),
        }
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "eqms_integration",
            "worker",
            "--beat",
            "--concurrency",
            "1",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "WARNING",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    process.wait(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_delivery_loses_nothing(make_subscription, receiver, tmp_path):
    make_subscription(events=["ncr.created"])
    receiver.delay = 15  # the first request hangs while the worker is killed
    ncr = quality.ncr_create(title="Killed worker")  # this process's own enqueue goes nowhere

    first = start_worker(tmp_path)
    try:
        wait_for(lambda: len(receiver.requests) >= 1, timeout=90)
        stop(first, signal.SIGKILL)  # no warm shutdown, no acknowledgement, no result
        delivery = WebhookDelivery.objects.get()
        assert delivery.status != "succeeded"
        receiver.delay = 0

        second = start_worker(tmp_path)
        try:
            wait_for(
                lambda: WebhookDelivery.objects.get().status == "succeeded",
                timeout=LEASE_SECONDS + 60,
            )
        finally:
            stop(second, signal.SIGTERM)
    finally:
        stop(first, signal.SIGKILL)

    ids = {request.headers["webhook-id"] for request in receiver.requests}
    assert len(receiver.requests) >= 2  # the interrupted attempt, then the completed one
    assert len(ids) == 1  # the same message, delivered again, not a new one
    assert ncr.number in receiver.requests[-1].body
