"""GET /metrics: the Prometheus text format, for a scraper holding METRICS_TOKEN.

Served only when METRICS_TOKEN is set (404 otherwise, as if there were no such page) and only
to `Authorization: Bearer <token>` (401 otherwise; compared in constant time). The counters and
histograms of every process of this machine come from prometheus-client's multiprocess files;
gauges of the system's state (webhook backlog, conflicts waiting, heartbeat ages) are read from
the database at scrape time, so every web process answers the same."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

logger = logging.getLogger(__name__)


class StateCollector:
    """Gauges read from the database when scraped (three small queries)."""

    def collect(self) -> Iterator[Metric]:
        from operations.selectors import liveness
        from sync.selectors import pending_conflicts_count
        from webhooks.selectors import backlog_counts

        now = timezone.now()
        try:
            backlog = backlog_counts(now)
            conflicts = pending_conflicts_count()
            processes = liveness(now)
        except Exception as exc:  # the database is down: counters are still worth serving
            logger.warning("metrics: state gauges unavailable (%s)", type(exc).__name__)
            return
        gauge = GaugeMetricFamily(
            "eqms_webhook_backlog",
            "Webhook deliveries waiting: pending (all not yet finished) and due (to be sent now).",
            labels=["state"],
        )
        gauge.add_metric(["pending"], backlog["pending"])
        gauge.add_metric(["due"], backlog["due"])
        yield gauge
        oldest = GaugeMetricFamily(
            "eqms_webhook_oldest_pending_seconds",
            "Age of the oldest webhook delivery not yet finished (0 when none).",
        )
        oldest.add_metric([], backlog["oldest_pending_seconds"] or 0)
        yield oldest
        yield GaugeMetricFamily(
            "eqms_sync_conflicts_pending", "Sync conflicts waiting for a person.", value=conflicts
        )
        ages = GaugeMetricFamily(
            "eqms_heartbeat_age_seconds",
            "Seconds since the newest heartbeat of a worker / of beat (absent: none ever).",
            labels=["kind"],
        )
        alive = GaugeMetricFamily(
            "eqms_processes_alive", "Workers / beats with a recent heartbeat.", labels=["kind"]
        )
        for kind, status in processes.items():
            if status["age_seconds"] is not None:
                ages.add_metric([kind], status["age_seconds"])
            alive.add_metric([kind], status["alive"])
        yield ages
        yield alive


def _bearer(request: HttpRequest) -> str:
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:
        return HttpResponse("Not found.\n", status=404, content_type="text/plain")
    if not hmac.compare_digest(_bearer(request).encode(), token.encode()):
        response = HttpResponse("Unauthorized.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(settings.PROMETHEUS_MULTIPROC_DIR))
    registry.register(StateCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
