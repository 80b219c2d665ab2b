"""Heartbeats of the Celery processes, from inside them.

A worker beats from a thread of its main process, started by `worker_ready` and stopped by
`worker_shutdown` (both signals fire in the main process whatever the pool: prefork, threads,
solo). Celery's own event heartbeat (`heartbeat_sent`) is not used: it only runs while worker
events are enabled. Beat beats from its scheduler's tick (operations.beat), so a beat whose
loop is stuck stops beating."""

from __future__ import annotations

import threading

from django.conf import settings

from operations.models import Heartbeat
from operations.services.heartbeats import HeartbeatWriter

_running: tuple[threading.Thread, threading.Event, HeartbeatWriter] | None = None


def worker_heartbeat_start(*, name: str) -> None:
    global _running
    if _running is not None:
        return
    writer = HeartbeatWriter(kind=Heartbeat.Kind.WORKER, name=name)
    stop = threading.Event()

    def loop() -> None:
        writer.beat()
        while not stop.wait(settings.HEARTBEAT_INTERVAL_SECONDS):
            writer.beat()

    thread = threading.Thread(target=loop, name="eqms-worker-heartbeat", daemon=True)
    _running = (thread, stop, writer)
    thread.start()


def worker_heartbeat_stop() -> None:
    """A clean shutdown says so: the worker shows as stopped, not as gone silent."""
    global _running
    if _running is None:
        return
    thread, stop, writer = _running
    _running = None
    stop.set()
    thread.join(timeout=5)
    writer.beat(stopped=True)
