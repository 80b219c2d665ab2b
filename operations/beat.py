"""django-celery-beat's DatabaseScheduler, recording beat's heartbeat as it ticks
(settings.CELERY_BEAT_SCHEDULER). Beat ticks at least every 5 s; the heartbeat is written at
most every HEARTBEAT_INTERVAL_SECONDS."""

from __future__ import annotations

import socket
import time
from typing import Any

from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

from operations.models import Heartbeat
from operations.services.heartbeats import HeartbeatWriter


class HeartbeatScheduler(DatabaseScheduler):
    _writer: HeartbeatWriter | None = None
    _last_beat = 0.0

    def tick(self, *args: Any, **kwargs: Any) -> float:
        interval = super().tick(*args, **kwargs)
        now = time.monotonic()
        if now - self._last_beat >= settings.HEARTBEAT_INTERVAL_SECONDS:
            if self._writer is None:
                self._writer = HeartbeatWriter(
                    kind=Heartbeat.Kind.BEAT, name=f"beat@{socket.gethostname()}"
                )
            self._writer.beat()
            self._last_beat = now
        return min(interval, settings.HEARTBEAT_INTERVAL_SECONDS)

    def close(self) -> None:
        super().close()
        if self._writer is not None:
            self._writer.beat(stopped=True)
