"""Webhook delivery benchmark: a real Celery worker (threads pool, in this process, memory
broker) delivering to a local receiver on 127.0.0.1.

Prints (1) the time the outbox adds to an NCR update with 0 vs 20 subscriptions, (2) the
commit-to-delivery latency p50/p95 at a steady load, with one subscription and with --fanout
subscriptions (to the last of an NCR's deliveries: a commit with several deliveries publishes one
fan-out message that a worker turns into one message per delivery), (3) deliveries per second
draining a backlog.

    .venv/bin/python bench/webhook_delivery.py [--steady 200 --rate 40 --burst 500 --updates 200
                                                --fanout 5]

Runs on a throw-away SQLite database under a temporary EQMS_VAR_DIR unless DATABASE_URL is set
(then use a database of its own: the bench migrates it and deletes its webhook rows).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("EQMS_VAR_DIR", tempfile.mkdtemp(prefix="eqms-bench-"))
os.environ.setdefault("DEBUG", "true")
os.environ["CELERY_BROKER_URL"] = "memory://"
os.environ.setdefault("CACHE_URL", "locmemcache://")
os.environ["WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.0/8"
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eqms_integration.settings")

import django

django.setup()

import json

from celery.contrib.testing.worker import start_worker
from django.core.management import call_command

from eqms_integration.celery import app
from quality import services as quality
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription

ARRIVALS: dict[tuple[str, str], float] = {}  # (NCR number, path) -> first arrival
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        number = json.loads(body)["data"]["number"]
        with LOCK:
            ARRIVALS.setdefault((number, self.path), time.monotonic())
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def reset_webhooks() -> None:
    WebhookDelivery.objects.all().delete()
    WebhookEvent.objects.all().delete()
    WebhookSubscription.objects.all().delete()
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")


def outbox_cost(url: str, updates: int) -> None:
    results = {}
    for count in (0, 20):
        reset_webhooks()
        for i in range(count):
            services.subscription_create(name=f"s{i}", url=url, events=["ncr.updated"])
        ncr = quality.ncr_create(title="bench")
        times = []
        for i in range(updates):
            start = time.perf_counter()
            quality.ncr_update(ncr=ncr, data={"title": f"bench {count} {i}"})
            times.append((time.perf_counter() - start) * 1000)
        results[count] = times
    base = statistics.median(results[0])
    print("\nNCR update (service call incl. commit and on-commit enqueue), ms, n =", updates)
    print(f"{'subscriptions':>14} {'p50':>8} {'p95':>8} {'mean':>8} {'x p50 vs 0':>11}")
    for count, times in results.items():
        p50 = statistics.median(times)
        print(
            f"{count:>14} {p50:8.2f} {pct(times, 0.95):8.2f} {statistics.mean(times):8.2f} "
            f"{p50 / base:11.2f}"
        )
    reset_webhooks()


def steady_latency(url: str, total: int, rate: float, subscriptions: int = 1) -> None:
    reset_webhooks()
    ARRIVALS.clear()
    paths = [f"/hook/{i}" for i in range(subscriptions)]
    base = url.removesuffix("/hook")
    for i, path in enumerate(paths):
        services.subscription_create(name=f"steady {i}", url=base + path, events=["ncr.created"])
    committed: dict[str, float] = {}
    interval = 1 / rate
    next_at = time.monotonic()
    for i in range(total):
        ncr = quality.ncr_create(title=f"steady {i}")  # returns after commit + enqueue
        committed[ncr.number] = time.monotonic()
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    wait_all({(n, p) for n in committed for p in paths})
    latencies = [(max(ARRIVALS[n, p] for p in paths) - t) * 1000 for n, t in committed.items()]
    if subscriptions == 1:
        print(f"\nCommit-to-delivery latency at {rate:g} NCRs/s, n = {total}")
    else:
        print(
            f"\nCommit-to-last-delivery latency, {subscriptions} subscriptions, "
            f"at {rate:g} NCRs/s, n = {total}"
        )
    print(
        f"  p50 {pct(latencies, 0.5):.1f} ms, p95 {pct(latencies, 0.95):.1f} ms, "
        f"max {max(latencies):.1f} ms, received {len(ARRIVALS)}/{total * subscriptions}"
    )


def burst_prepare(url: str, total: int) -> dict[str, float]:
    """Publish a burst while no worker runs, so the drain rate is the worker's alone."""
    reset_webhooks()
    ARRIVALS.clear()
    services.subscription_create(name="burst", url=url, events=["ncr.created"])
    return {quality.ncr_create(title=f"burst {i}").number: 0.0 for i in range(total)}


def burst_drain(numbers: dict[str, float], started: float) -> None:
    wait_all({(n, "/hook") for n in numbers})
    done = max(ARRIVALS[n, "/hook"] for n in numbers)
    total = len(numbers)
    print(f"\nDraining a backlog of {total} deliveries (queued before the worker started)")
    print(
        f"  {total / (done - started):.1f} deliveries/s "
        f"({done - started:.2f} s from worker start to last arrival), "
        f"received {len(ARRIVALS)}/{total}"
    )


def wait_all(keys: set[tuple[str, str]], timeout: float = 300) -> None:
    """Until every request arrived, and then until the worker has recorded every outcome (the
    next scenario deletes the rows a worker still writing its attempt would refer to)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with LOCK:
            if all(k in ARRIVALS for k in keys):
                break
        time.sleep(0.02)
    else:
        raise SystemExit(f"only {len(ARRIVALS)}/{len(keys)} deliveries arrived in {timeout} s")
    open_rows = WebhookDelivery.objects.exclude(status=WebhookDelivery.Status.SUCCEEDED)
    while open_rows.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"{open_rows.count()} deliveries still open after {timeout} s")
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument("--steady", type=int, default=200)
    parser.add_argument("--rate", type=float, default=40)
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--fanout",
        type=int,
        default=5,
        help="subscriptions of the second steady run (--steady/4 NCRs, same deliveries/s)",
    )
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    # Kombu's in-memory transport sleeps polling_interval (1 s) whenever the worker cannot
    # take a message; a real Redis broker wakes on arrival. Poll fast so the broker is not
    # what is measured.
    app.conf.broker_transport_options = {"polling_interval": 0.005}
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    db = django.db.connection
    print(f"database: {db.vendor} {db.settings_dict['NAME']}, worker threads: {args.concurrency}")

    outbox_cost(url, args.updates)
    backlog = burst_prepare(url, args.burst)
    started = time.monotonic()
    with start_worker(
        app,
        pool="threads",
        concurrency=args.concurrency,
        perform_ping_check=False,
        loglevel="WARNING",
    ):
        burst_drain(backlog, started)
        steady_latency(url, args.steady, args.rate)
        if args.fanout > 1:
            steady_latency(url, max(1, args.steady // 4), args.rate / args.fanout, args.fanout)
    reset_webhooks()
    server.shutdown()


if __name__ == "__main__":
    main()
