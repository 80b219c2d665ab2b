"""Liveness (/healthz) and readiness (/readyz) probes for load balancers and orchestrators."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from eqms_integration.api.exceptions import mark_logged
from eqms_integration.outages import outage_over, outage_report


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    from eqms_integration.celery import app

    options = app.conf.broker_transport_options or {}
    if app.conf.broker_url.startswith("filesystem://"):
        for key in ("data_folder_in", "data_folder_out"):
            folder = Path(options[key])
            if not (folder.is_dir() and os.access(folder, os.W_OK)):
                raise OSError(f"broker folder {folder} is missing or not writable")
        return
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.READINESS_TIMEOUT_SECONDS)


def check_cache() -> None:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("value written to the cache could not be read back")
    cache.delete(key)


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
    "cache": check_cache,
}


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    results: dict[str, dict[str, object]] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:  # a probe reports every failure, it never raises
            outage_report(name, exc)  # logged once per outage, not once per probe
            results[name] = {"ok": False, "error": exc.__class__.__name__}
        else:
            outage_over(name)
            results[name] = {"ok": True}
        results[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    ready = all(result["ok"] for result in results.values())
    # Workers and beat are reported, not required: this web process can serve without them.
    processes = process_checks(database_ok=results["database"]["ok"])
    results.update(processes)
    degraded = not all(result["ok"] for result in processes.values())
    response = JsonResponse(
        {
            "status": "unavailable" if not ready else "degraded" if degraded else "ready",
            "checks": results,
        },
        status=200 if ready else 503,
    )
    return response if ready else mark_logged(response)  # the outage itself is logged once


def process_checks(*, database_ok: bool) -> dict[str, dict[str, object]]:
    """worker and beat: alive or not, and the age of the newest heartbeat (no names)."""
    from operations.selectors import liveness

    unknown = {
        kind: {"ok": False, "error": "unknown: the database is unavailable"}
        for kind in ("worker", "beat")
    }
    if not database_ok:  # asking again would only wait for another connect timeout
        return unknown
    try:
        found = liveness()
    except Exception:  # the database went away between the two
        return unknown
    return {
        kind: {key: value for key, value in status.items() if key != "processes"}
        for kind, status in found.items()
    }
