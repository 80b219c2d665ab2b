"""A real HTTP receiver on 127.0.0.1, subscriptions pointing at it, and a real Celery worker."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import kombu
import pytest
from django.utils import timezone

import webhooks.tasks  # noqa: F401 - registers the tasks, as a worker's start does
from webhooks import services


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str
    at: float

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each POST with the next scripted (status, headers, body), then with 200."""

    port: int = 0
    requests: list[Received] = field(default_factory=list)
    script: list[tuple[int, dict[str, str], str]] = field(default_factory=list)
    delay: float = 0.0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def respond(self, *answers: int | tuple[int, dict[str, str], str]) -> None:
        for answer in answers:
            self.script.append(answer if isinstance(answer, tuple) else (answer, {}, ""))

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode()
                with receiver._lock:
                    receiver.requests.append(
                        Received(self.path, dict(self.headers.items()), body, time.monotonic())
                    )
                    status, headers, text = (
                        receiver.script.pop(0) if receiver.script else (200, {}, "ok")
                    )
                if receiver.delay:
                    time.sleep(receiver.delay)
                payload = text.encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def allow_loopback(settings) -> None:
    """The receiver lives on 127.0.0.1, which the SSRF guard refuses unless allowlisted."""
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture
def receiver(allow_loopback) -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def make_subscription(db, receiver) -> Callable[..., tuple[object, str]]:
    def make(**overrides):
        data = {
            "name": "ERP",
            "url": receiver.url,
            "events": ["ncr.created", "ncr.updated", "ncr.closed"],
            **overrides,
        }
        return services.subscription_create(**data)

    return make


@pytest.fixture(autouse=True)
def memory_broker() -> Iterator[None]:
    """Tasks enqueued by these tests go to an in-process broker, never to var/ or Redis."""
    from eqms_integration.celery import app

    saved = (app.conf.broker_url, app.conf.broker_transport_options)
    app.conf.broker_url = "memory://"
    # The memory transport sleeps this long whenever the worker cannot take a message yet.
    app.conf.broker_transport_options = {"polling_interval": 0.01}
    _reset_pools(app)
    broker_messages()  # the memory broker is global to the process: start from an empty queue
    yield
    broker_messages()
    app.conf.broker_url, app.conf.broker_transport_options = saved
    _reset_pools(app)


def _reset_pools(app) -> None:
    # Forget the cached pools so the next publish connects to the current broker_url. They are
    # not closed: kombu keeps them in a global registry and hands them out again.
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def celery_worker(memory_broker) -> Iterator[object]:
    """A real Celery worker (in a thread of this process) consuming the memory broker."""
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun
    from django.db import connections

    from eqms_integration.celery import app

    def close_connections(**kwargs: object) -> None:
        # What `celery worker` does through its Django fix-up: no connection outlives a task
        # (a leftover one would keep the test database from being dropped).
        connections.close_all()

    task_postrun.connect(close_connections, weak=False)
    try:
        with start_worker(
            app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=20
        ) as worker:
            yield worker
    finally:
        task_postrun.disconnect(close_connections)


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


FAN_OUT = "webhooks.tasks.enqueue_webhook_deliveries"
DELIVER = "webhooks.tasks.deliver_webhook"
DELIVER_MANY = "webhooks.tasks.deliver_webhooks"
PROBE = "webhooks.tasks.probe_webhook_queue"
SWEEP = "webhooks.tasks.sweep_webhook_deliveries"


def broker_messages() -> list[tuple[str, list]]:
    """Take every message waiting on the memory broker: (task name, positional args), in the
    order they were published (the webhooks queue's, then the default queue's)."""
    from eqms_integration.celery import app

    messages = []
    with app.connection_for_read() as conn:
        channel = conn.default_channel
        for queue in ("webhooks", app.conf.task_default_queue):
            while (message := channel.basic_get(queue, no_ack=True)) is not None:
                args, _kwargs, _embed = message.decode()
                messages.append((message.headers["task"], args))
    return messages


def deliveries_handed_to_workers() -> list[int]:
    """The delivery ids of the delivery messages the broker holds (one id, or a batch)."""
    ids = []
    for task, args in broker_messages():
        if task == DELIVER:
            ids.append(*args)
        elif task == DELIVER_MANY:
            ids.extend(*args)
        else:
            raise AssertionError(f"unexpected task {task}")
    return ids


def _refuse(*args: object, **kwargs: object) -> None:
    raise ConnectionError("broker unreachable")


@contextmanager
def broker_down() -> Iterator[None]:
    """Every publish fails as it does when the broker cannot be reached."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kombu.Producer, "publish", _refuse)
        yield


@pytest.fixture
def published() -> Iterator[list[tuple[str, list]]]:
    """(task name, args) of every message published while the test runs, by any thread."""
    from celery.signals import after_task_publish

    sent: list[tuple[str, list]] = []

    def record(sender: str, body: tuple, **kwargs: object) -> None:
        sent.append((sender, list(body[0])))

    after_task_publish.connect(record, weak=False)
    yield sent
    after_task_publish.disconnect(record)


@dataclass
class Clock:
    """Django's clock, moved forward on demand (time is the edge of the process)."""

    offset: timedelta = field(default_factory=timedelta)

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    moved = Clock()
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + moved.offset)
    return moved
