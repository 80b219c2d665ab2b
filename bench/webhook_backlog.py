"""Webhook backlog benchmark: how many delivery task runs there are per delivery while a backlog
waits in the broker longer than WEBHOOK_REQUEUE_AFTER_SECONDS, with the sweeper running as
celery-beat runs it (a task on the same queue, every WEBHOOK_SWEEP_INTERVAL_SECONDS).

    .venv/bin/python bench/webhook_backlog.py [--deliveries 3000 --concurrency 4 --delay-ms 5]

Starts a redis-server of its own (broker) on a free port in a temporary directory, a Celery
worker (threads pool, in this process) and a local receiver that answers 204 after --delay-ms.
Time is compressed: requeue-after 2 s, sweep every 1 s (production: 60 s and 10 s). Prints the
deliveries, the attempts the delivery tasks ran (total, per delivery), the sweeps, the broker
queue's peak length and the drain time. Runs on a throw-away SQLite database unless
DATABASE_URL is set (then use a database of its own: its webhook rows are deleted).
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


REDIS_DIR = tempfile.mkdtemp(prefix="eqms-bench-redis-")
REDIS_PORT = free_port()
os.environ.setdefault("EQMS_VAR_DIR", tempfile.mkdtemp(prefix="eqms-bench-"))
os.environ.setdefault("DEBUG", "true")
os.environ["CELERY_BROKER_URL"] = f"redis://127.0.0.1:{REDIS_PORT}/0"
os.environ.setdefault("CACHE_URL", "locmemcache://")
os.environ["WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.0/8"
os.environ["WEBHOOK_REQUEUE_AFTER_SECONDS"] = "2"
os.environ["WEBHOOK_SWEEP_INTERVAL_SECONDS"] = "1"
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eqms_integration.settings")

import django

django.setup()

import redis
from celery.contrib.testing.worker import start_worker
from celery.signals import task_prerun
from django.conf import settings
from django.core.management import call_command

from eqms_integration.celery import app
from quality import services as quality
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from webhooks.tasks import sweep_webhook_deliveries

DELIVER = "webhooks.tasks.deliver_webhook"
DELIVER_MANY = "webhooks.tasks.deliver_webhooks"
EXECUTIONS: collections.Counter[int] = collections.Counter()
TASKS: collections.Counter[str] = collections.Counter()
LOCK = threading.Lock()


def count(sender: object = None, task: object = None, args: tuple = (), **kwargs: object) -> None:
    with LOCK:
        TASKS[task.name] += 1
        if task.name == DELIVER:
            EXECUTIONS[args[0]] += 1
        elif task.name == DELIVER_MANY:
            for delivery_id in args[0]:
                EXECUTIONS[delivery_id] += 1


def receiver(delay: float) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(delay)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--subscriptions", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--delay-ms", type=float, default=5)
    args = parser.parse_args()
    redis_server = shutil.which("redis-server")
    if not redis_server:
        raise SystemExit("redis-server is not installed")
    server = subprocess.Popen(  # noqa: S603
        [
            redis_server,
            "--port",
            str(REDIS_PORT),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            REDIS_DIR,
        ],
        stdout=subprocess.DEVNULL,
    )
    broker = redis.Redis(port=REDIS_PORT)
    for _ in range(100):
        try:
            broker.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    try:
        run(args, broker)
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(REDIS_DIR, ignore_errors=True)


def run(args: argparse.Namespace, broker: redis.Redis) -> None:
    call_command("migrate", verbosity=0)
    WebhookDelivery.objects.all().delete()
    WebhookEvent.objects.all().delete()
    WebhookSubscription.objects.all().delete()
    hook = receiver(args.delay_ms / 1000)
    url = f"http://127.0.0.1:{hook.server_address[1]}/hook"
    for i in range(args.subscriptions):
        services.subscription_create(name=f"s{i}", url=f"{url}/{i}", events=["ncr.created"])
    for i in range(args.deliveries // args.subscriptions):  # published while no worker runs
        quality.ncr_create(title=f"backlog {i}")
    total = WebhookDelivery.objects.count()

    task_prerun.connect(count, weak=False)
    stop = threading.Event()

    def queued() -> int:
        return broker.llen("celery") + broker.llen("webhooks")

    peak = [queued()]

    def beat() -> None:
        while not stop.wait(settings.WEBHOOK_SWEEP_INTERVAL_SECONDS):
            sweep_webhook_deliveries.delay()

    def sample() -> None:
        while not stop.wait(0.1):
            peak[0] = max(peak[0], queued())

    threads = [threading.Thread(target=beat, daemon=True), threading.Thread(target=sample)]
    started = time.monotonic()
    with start_worker(
        app,
        pool="threads",
        concurrency=args.concurrency,
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=30,
    ):
        for thread in threads:
            thread.start()
        open_rows = WebhookDelivery.objects.exclude(status=WebhookDelivery.Status.SUCCEEDED)
        while open_rows.exists():
            time.sleep(0.1)
        drained = time.monotonic() - started
        # Let the messages still queued (duplicates) run out, as they would in production.
        while queued() > 0:
            time.sleep(0.1)
        time.sleep(2 * settings.WEBHOOK_SWEEP_INTERVAL_SECONDS)
        stop.set()
    for thread in threads:
        thread.join()
    hook.shutdown()

    executions = sum(EXECUTIONS.values())
    print(
        f"database: {django.db.connection.vendor}, broker: redis, worker threads: "
        f"{args.concurrency}, receiver delay {args.delay_ms:g} ms, requeue after "
        f"{settings.WEBHOOK_REQUEUE_AFTER_SECONDS} s, sweep every "
        f"{settings.WEBHOOK_SWEEP_INTERVAL_SECONDS} s"
    )
    print(f"deliveries: {total}, all succeeded after {drained:.1f} s")
    print(
        f"delivery task runs per delivery: {executions} ({executions / total:.2f} per delivery, "
        f"at most {max(EXECUTIONS.values())} for one)"
    )
    print(f"broker queue peak: {peak[0]} messages")
    print("tasks run: " + ", ".join(f"{name.rsplit('.', 1)[-1]} {n}" for name, n in TASKS.items()))


if __name__ == "__main__":
    main()
