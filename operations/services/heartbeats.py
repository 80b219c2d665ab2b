"""Recording heartbeats of workers and beat: one row per process name, updated in place.

Cheap (one UPDATE per interval per process) and outage-tolerant: a heartbeat that cannot be
written is reported once per outage and tried again at the next interval, never raised into
the process that beats."""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from operations.models import Heartbeat

logger = logging.getLogger(__name__)
FORGET_AFTER = timedelta(days=7)  # a process silent this long is gone for good


def heartbeat_record(*, kind: str, name: str, started_at: datetime, stopped: bool = False) -> None:
    now = timezone.now()
    values = {
        "pid": os.getpid(),
        "started_at": started_at,
        "seen_at": now,
        "stopped_at": now if stopped else None,
    }
    if Heartbeat.objects.filter(kind=kind, name=name).update(**values):
        return
    try:
        with transaction.atomic():
            Heartbeat.objects.create(kind=kind, name=name, **values)
    except IntegrityError:  # another process of the same name created it first
        Heartbeat.objects.filter(kind=kind, name=name).update(**values)


def heartbeats_forget_old() -> int:
    """Drop processes not seen for a week (renamed workers, retired machines)."""
    deleted, _ = Heartbeat.objects.filter(seen_at__lt=timezone.now() - FORGET_AFTER).delete()
    return deleted


class HeartbeatWriter:
    """Writes one process's heartbeat and logs a failure once per outage, not per beat."""

    def __init__(self, *, kind: str, name: str) -> None:
        self.kind, self.name = kind, name
        self.started_at = timezone.now()
        self.failing = False

    def beat(self, *, stopped: bool = False) -> bool:
        try:
            heartbeat_record(
                kind=self.kind, name=self.name, started_at=self.started_at, stopped=stopped
            )
            if self.kind == Heartbeat.Kind.BEAT and not stopped:
                heartbeats_forget_old()
        except Exception as exc:  # the database is down: the process itself must go on
            if not self.failing:
                logger.warning(
                    "%s %s: heartbeat not recorded (%s: %s); trying again every interval",
                    self.kind,
                    self.name,
                    type(exc).__name__,
                    exc,
                )
            self.failing = True
            return False
        finally:
            # Beats run outside requests and tasks: nothing else closes this connection.
            connection.close()
        if self.failing:
            logger.info("%s %s: heartbeat recorded again", self.kind, self.name)
            self.failing = False
        return True
