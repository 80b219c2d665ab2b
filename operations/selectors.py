"""Reads of operations state: are workers and beat alive."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from operations.models import Heartbeat


def _status(kind: str, rows: list[Heartbeat], now: datetime) -> dict[str, Any]:
    stale = settings.HEARTBEAT_STALE_SECONDS
    processes = [
        {
            "name": row.name,
            "pid": row.pid,
            "started_at": row.started_at,
            "seen_at": row.seen_at,
            "age_seconds": max(int((now - row.seen_at).total_seconds()), 0),
            "stopped": row.stopped_at is not None,
        }
        for row in rows
    ]
    alive = [p for p in processes if not p["stopped"] and p["age_seconds"] <= stale]
    newest = min((p["age_seconds"] for p in processes), default=None)
    status: dict[str, Any] = {
        "ok": bool(alive),
        "alive": len(alive),
        "age_seconds": newest,
        "processes": processes,
    }
    if not processes:
        status["error"] = f"no {kind} has reported yet"
    elif not alive:
        status["error"] = f"no {kind} seen for {newest} s"
    elif kind == Heartbeat.Kind.BEAT and len(alive) > 1:
        # Two beats send every periodic task twice; the work is idempotent, but say so.
        status["warning"] = f"{len(alive)} beats are running; run exactly one"
    return status


def liveness(now: datetime | None = None) -> dict[str, dict[str, Any]]:
    """Per kind (worker, beat): ok when one was seen within HEARTBEAT_STALE_SECONDS and did not
    stop, the age of the newest heartbeat, and each process. One query."""
    now = now or timezone.now()
    rows = list(Heartbeat.objects.order_by("kind", "-seen_at"))
    return {
        kind: _status(kind, [row for row in rows if row.kind == kind], now)
        for kind in Heartbeat.Kind.values
    }
