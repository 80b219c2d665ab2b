"""Prometheus metrics of the service: what each process counts, in one place.

prometheus-client runs in multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set by settings before
this module is imported): every gunicorn worker and Celery process writes its samples to files
there and `GET /metrics` (eqms_integration.metrics_endpoint) adds them up, so a counter is the
total of the machine whichever process served a request or ran a task. Only counters and
histograms live here (they stay right when a process exits); gauges of the system's state are
read from the database at scrape time.

The rest of the code calls the small functions below, one line at the point where the thing
happens; none of them can raise into it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter, Histogram

logger = logging.getLogger(__name__)

WEBHOOK_DELIVERIES = Counter(
    "eqms_webhook_deliveries",
    "Webhook delivery attempts by what became of the delivery: succeeded, retry (it will be "
    "tried again), failed (no more attempts).",
    ["outcome"],
)
WEBHOOK_DELIVERY_SECONDS = Histogram(
    "eqms_webhook_delivery_seconds",
    "Duration of webhook delivery attempts (request and answer), in seconds.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30),
)
SYNC_ROWS = Counter(
    "eqms_sync_rows",
    "Rows of finished sync runs by configuration and outcome (created, updated, skipped, "
    "failed, conflicted). Dry runs are not counted.",
    ["configuration", "outcome"],
)
SYNC_RUN_SECONDS = Histogram(
    "eqms_sync_run_seconds",
    "Duration of finished sync runs by final status, in seconds.",
    ["status"],
    buckets=(1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400),
)
API_KEY_AUTH = Counter(
    "eqms_api_key_auth",
    "API-key authentications by outcome: accepted, rejected (unknown, wrong, revoked, "
    "malformed), expired, throttled (failure caps), forbidden_address.",
    ["outcome"],
)
HTTP_REQUESTS = Counter(
    "eqms_http_requests", "HTTP answers of the web processes by status code.", ["status"]
)
SYNC_ROW_OUTCOMES = ("created", "updated", "skipped", "failed", "conflicted")


def _safely(record: Callable[..., None]) -> Callable[..., None]:
    def guarded(*args: Any, **kwargs: Any) -> None:
        try:
            record(*args, **kwargs)
        except Exception:  # counting must never break the work being counted
            logger.warning("metric %s not recorded", record.__name__, exc_info=True)

    guarded.__name__ = record.__name__
    guarded.__doc__ = record.__doc__
    return guarded


# A delivery's status after an attempt -> the outcome label.
DELIVERY_OUTCOMES = {"succeeded": "succeeded", "pending": "retry", "failed": "failed"}


@_safely
def webhook_attempt(*, status: str, seconds: float) -> None:
    WEBHOOK_DELIVERIES.labels(outcome=DELIVERY_OUTCOMES.get(status, status)).inc()
    WEBHOOK_DELIVERY_SECONDS.observe(seconds)


@_safely
def sync_run_finished(run: Any) -> None:
    """A sync run ended, whatever its status; its rows count unless it was a dry run."""
    if run.duration_ms is not None:
        SYNC_RUN_SECONDS.labels(status=run.status).observe(run.duration_ms / 1000)
    elif run.started_at and run.finished_at:  # ended by the sweeper (timeout, lost worker)
        seconds = (run.finished_at - run.started_at).total_seconds()
        SYNC_RUN_SECONDS.labels(status=run.status).observe(seconds)
    if run.dry_run:
        return
    name = run.configuration.name
    for outcome in SYNC_ROW_OUTCOMES:
        if count := getattr(run, outcome):
            SYNC_ROWS.labels(configuration=name, outcome=outcome).inc(count)


@_safely
def api_key_auth(outcome: str) -> None:
    API_KEY_AUTH.labels(outcome=outcome).inc()


class HttpMetricsMiddleware:
    """Counts every answer by status code (near the top of MIDDLEWARE: redirects and errors
    made by other middleware are counted too)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        _http_answer(response.status_code)
        return response


@_safely
def _http_answer(status: int) -> None:
    HTTP_REQUESTS.labels(status=str(status)).inc()


def multiprocess_dir_reset() -> int:
    """Empty PROMETHEUS_MULTIPROC_DIR before the processes of this machine start (`serve`):
    files of processes from an earlier start would be added to the new totals and the
    directory would grow with every restart. Only prometheus-client's own files go."""
    removed = 0
    for path in Path(settings.PROMETHEUS_MULTIPROC_DIR).glob("*.db"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed
