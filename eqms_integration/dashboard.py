"""The operations dashboard above the admin's model list: what needs a person now.

Shown to the Admin, Manager and Auditor roles and to superusers; a staff user without those
roles sees the plain index. Each section is shown to whoever may read its objects, and every
line links to the admin list or page behind it. All reads are the apps' selectors, a bounded
number of queries whatever the number of objects."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from eqms_integration import health
from eqms_integration.roles import ADMIN, AUDITOR, MANAGER

DASHBOARD_ROLES = (ADMIN, MANAGER, AUDITOR)
MAX_ROWS = 50


def _admin_url(name: str, *args: Any, **query: Any) -> str:
    url = reverse(f"admin:{name}", args=args)
    return f"{url}?{urlencode(query)}" if query else url


def may_see_dashboard(user: Any) -> bool:
    if not (user.is_active and user.is_staff):
        return False
    return user.is_superuser or user.groups.filter(name__in=DASHBOARD_ROLES).exists()


def _webhooks(now: Any) -> dict[str, Any]:
    from webhooks.selectors import subscriptions_health

    rows = subscriptions_health(now)
    for row in rows:
        pk = row["subscription"].pk
        row["url"] = _admin_url("webhooks_webhooksubscription_change", pk)
        deliveries = "webhooks_webhookdelivery_changelist"
        row["failed_url"] = _admin_url(
            deliveries, subscription__id__exact=pk, status__exact="failed"
        )
        row["backlog_url"] = _admin_url(
            deliveries, subscription__id__exact=pk, status__in="pending,delivering"
        )
    return {
        "rows": rows[:MAX_ROWS],
        "more": max(len(rows) - MAX_ROWS, 0),
        "disabled": sum(row["state"] == "disabled" for row in rows),
        "failing": sum(row["state"] == "failing" for row in rows),
        "list_url": _admin_url("webhooks_webhooksubscription_changelist"),
        "disabled_url": _admin_url("webhooks_webhooksubscription_changelist", is_active__exact=0),
    }


def _sync(now: Any) -> dict[str, Any]:
    from sync.selectors import configurations_health

    rows = configurations_health(now)
    for row in rows:
        pk = row["configuration"].pk
        row["url"] = _admin_url("sync_syncconfiguration_change", pk)
        if row["next_run_at"] is not None:  # an estimate a few ms early: show the minute it means
            row["next_run_at"] = (row["next_run_at"] + timedelta(seconds=30)).replace(
                second=0, microsecond=0
            )
        if row["last_run"] is not None:
            row["last_run_url"] = _admin_url("sync_syncrun_change", row["last_run"].pk)
        runs, conflicts = "sync_syncrun_changelist", "sync_syncconflict_changelist"
        row["failed_url"] = _admin_url(
            runs, configuration__id__exact=pk, status__in="failed,timeout"
        )
        row["conflicts_url"] = _admin_url(
            conflicts, configuration__id__exact=pk, status__exact="pending"
        )
        row["attention"] = bool(
            row["failed_24h"]
            or row["pending_conflicts"]
            or (row["last_run"] is not None and row["last_run"].status in ("failed", "timeout"))
        )
    rows.sort(key=lambda row: not row["attention"])
    return {
        "rows": rows[:MAX_ROWS],
        "more": max(len(rows) - MAX_ROWS, 0),
        "list_url": _admin_url("sync_syncconfiguration_changelist"),
    }


def _api_keys(now: Any, *, details: bool) -> dict[str, Any]:
    from apikeys.selectors import keys_expiring, keys_unused, lockouts

    days = settings.APIKEY_EXPIRY_WARNING_DAYS
    expiring = list(keys_expiring(now, days).only("id", "name", "key_preview", "expires_at")[:10])
    locked = lockouts(now)
    section: dict[str, Any] = {
        "days": days,
        "expiring_count": len(expiring) if len(expiring) < 10 else keys_expiring(now, days).count(),
        "unused_count": keys_unused(now).count(),
        "locked_count": len(locked["keys"]),
        "locked_ips": locked["ips"],
        "details": details,
    }
    if details:
        changelist = "apikeys_apikey_changelist"
        for key in expiring:
            key.url = _admin_url("apikeys_apikey_change", key.pk)
            key.days_left = max((key.expires_at - now).total_seconds() / 86400, 0)
        for key in locked["keys"]:
            key["url"] = _admin_url("apikeys_apikey_change", key["id"]) if key["id"] else ""
        section.update(
            expiring=expiring,
            locked=locked["keys"],
            expiring_url=_admin_url(changelist, state="expiring"),
            unused_url=_admin_url(changelist, state="idle_90"),
            events_url=_admin_url(
                "apikeys_apikeyevent_changelist", event_type__exact="repeated_failures"
            ),
        )
    return section


def _health() -> list[dict[str, Any]]:
    from operations.selectors import liveness

    rows = []
    for name, check in health.CHECKS.items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:  # shown, never raised: the page must load when Redis is down
            rows.append({"name": name, "ok": False, "detail": type(exc).__name__})
        else:
            took = (time.perf_counter() - started) * 1000
            rows.append({"name": name, "ok": True, "detail": f"answers in {took:.0f} ms"})
    heartbeats = _admin_url("operations_heartbeat_changelist")
    try:
        processes = liveness()
    except Exception as exc:
        processes = {
            kind: {"ok": False, "error": type(exc).__name__, "processes": []}
            for kind in ("worker", "beat")
        }
    for kind, status in processes.items():
        if status["ok"]:
            detail = f"{status['alive']} alive, last heartbeat {status['age_seconds']} s ago"
        else:
            detail = status["error"]
        rows.append(
            {
                "name": kind,
                "ok": status["ok"],
                "detail": detail,
                "warning": status.get("warning", ""),
                "url": heartbeats,
                "processes": status["processes"],
            }
        )
    return rows


def dashboard(user: Any) -> dict[str, Any] | None:
    """Everything the dashboard shows to this user, or None (plain index)."""
    if not may_see_dashboard(user):
        return None
    now = timezone.now()
    found: dict[str, Any] = {"now": now, "health": _health()}
    if user.has_perm("webhooks.view_webhooksubscription"):
        found["webhooks"] = _webhooks(now)
    if user.has_perm("sync.view_syncconfiguration"):
        found["sync"] = _sync(now)
    # Key names are the Admin role's to see; the other roles see how many need attention.
    found["api_keys"] = _api_keys(now, details=user.has_perm("apikeys.view_apikey"))
    return found
