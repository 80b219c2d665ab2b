"""Reads of API keys for the operations dashboard and the expiry alerts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from apikeys.models import APIKey, APIKeyEvent
from apikeys.services.cache import failure_lockouts

UNUSED_DAYS = 90


def live_keys(now: datetime) -> QuerySet[APIKey]:
    """Not revoked and not expired."""
    return APIKey.objects.filter(is_active=True, revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def keys_expiring(now: datetime, days: int) -> QuerySet[APIKey]:
    """Live keys whose expiry falls within `days`, soonest first. A rotated key's expiry is
    the end of its grace period, which the rotation chose: those are left out."""
    return (
        live_keys(now)
        .filter(expires_at__lte=now + timedelta(days=days), rotated_to__isnull=True)
        .order_by("expires_at", "id")
    )


def keys_unused(now: datetime, days: int = UNUSED_DAYS) -> QuerySet[APIKey]:
    """Live keys not used for `days` (never used ones count from their creation)."""
    cutoff = now - timedelta(days=days)
    return (
        live_keys(now)
        .filter(Q(last_used_at__lt=cutoff) | Q(last_used_at__isnull=True, created_at__lt=cutoff))
        .order_by("last_used_at", "created_at", "id")
    )


def lockouts(now: datetime) -> dict[str, Any]:
    """Key ids and client addresses refused now by the failure caps. A counter reaching its
    cap records a `repeated_failures` event, so only the ids and addresses of those events
    within the window are looked up in the cache: one query and one cache round trip."""
    since = now - timedelta(seconds=settings.APIKEY_FAILURE_WINDOW_SECONDS)
    events = list(
        APIKeyEvent.objects.filter(event_type=APIKeyEvent.Type.REPEATED_FAILURES,
                                   created_at__gte=since)
        .order_by("-created_at")
        .values("key_id", "api_key_id", "api_key__name", "details")
    )  # fmt: skip
    capped = [(e, e["details"].get("capped", [])) for e in events]
    key_ids = list(dict.fromkeys(e["key_id"] for e, what in capped if "key_id" in what))
    ips = list(dict.fromkeys(e["details"]["ip_bucket"] for e, what in capped if "ip" in what))
    keys_out, ips_out = failure_lockouts(key_ids=key_ids, ips=ips)
    names = {e["key_id"]: (e["api_key_id"], e["api_key__name"]) for e in events}
    return {
        "keys": [{"key_id": k, "id": names[k][0], "name": names[k][1]}
                 for k in key_ids if k in keys_out],
        "ips": [ip for ip in ips if ip in ips_out],
    }  # fmt: skip
