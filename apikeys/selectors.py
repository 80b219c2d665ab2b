"""Reads of API keys for the operations dashboard and the expiry alerts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from apikeys.models import APIKey, APIKeyEvent
from apikeys.services import store
from apikeys.services.caps import lockouts_now

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
    """What the failure caps refuse or slow now (apikeys/services/caps.py): keys under attack
    (checks from new addresses slowed to one a second), keys refused from an address that
    guessed, and addresses refused for keys they never used. A cap reached records a
    `repeated_failures` event, so only the ids and addresses of those events within the window
    are looked up in the cache: one query and one cache round trip."""
    since = now - timedelta(seconds=settings.APIKEY_FAILURE_WINDOW_SECONDS)
    events = list(
        APIKeyEvent.objects.filter(
            event_type=APIKeyEvent.Type.REPEATED_FAILURES, created_at__gte=since
        )
        .order_by("-created_at")
        .values("key_id", "api_key_id", "api_key__name", "details")
    )
    key_ids, pairs, ips = [], [], []
    for event in events:
        capped, bucket = event["details"].get("capped", []), event["details"].get("ip_bucket")
        if "key_id" in capped:
            key_ids.append(event["key_id"])
        if "key_id_and_ip" in capped and bucket:
            pairs.append((event["key_id"], bucket))
        if "ip" in capped and bucket:
            ips.append(bucket)
    key_ids, pairs, ips = (list(dict.fromkeys(x)) for x in (key_ids, pairs, ips))
    found = store.run(lambda backend: lockouts_now(backend, key_ids=key_ids, pairs=pairs, ips=ips))
    names = {e["key_id"]: (e["api_key_id"], e["api_key__name"]) for e in events}
    refused = {key for key, _ in found.refused_pairs}
    affected = [
        k
        for k in dict.fromkeys([*key_ids, *(k for k, _ in pairs)])
        if k in found.slowed_keys or k in refused
    ]
    return {
        "keys": [
            {
                "key_id": k,
                "id": names[k][0],
                "name": names[k][1],
                "slowed": k in found.slowed_keys,
                "refused_from": sorted(ip for key, ip in found.refused_pairs if key == k),
            }
            for k in affected
        ],
        "ips": [ip for ip in ips if ip in found.refused_ips],
    }
