"""Rules for the fields of a key, shared by the API, the admin and the commands."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from apikeys.scopes import SCOPES
from eqms_integration.text import plural

NAME_MAX_LENGTH = 100
MAX_NETWORKS = 100


def clean_scopes(scopes: Iterable[str]) -> list[str]:
    scopes = list(dict.fromkeys(scopes))
    if not scopes:
        raise ValidationError({"scopes": "Give at least one scope."})
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        names = ", ".join(map(repr, unknown))
        what = plural(len(unknown), "scope")
        raise ValidationError({"scopes": f"Unknown {what}: {names}. Known: {', '.join(SCOPES)}."})
    return scopes


def clean_networks(networks: Iterable[str]) -> list[str]:
    cleaned, bad = [], []
    for raw in networks:
        try:
            cleaned.append(str(ipaddress.ip_network(str(raw).strip(), strict=False)))
        except ValueError:
            bad.append(raw)
    if bad:
        raise ValidationError(
            {"allowed_networks": f"Not an IPv4/IPv6 address or CIDR: {', '.join(map(repr, bad))}."}
        )
    if len(cleaned) > MAX_NETWORKS:
        raise ValidationError({"allowed_networks": f"At most {MAX_NETWORKS} networks."})
    return list(dict.fromkeys(cleaned))


EXPIRY_TOO_LATE = "The expiry must be before the year 10000 (UTC)."


def clean_expiry(expires_at: datetime | None) -> datetime | None:
    if expires_at is None:
        return None
    try:
        if timezone.is_naive(expires_at):
            expires_at = timezone.make_aware(expires_at)
        expires_at = expires_at.astimezone(UTC)  # what the database stores; must not overflow
    except OverflowError:
        raise ValidationError({"expires_at": EXPIRY_TOO_LATE}) from None
    if expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    return expires_at


def clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the key a name."})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError({"name": f"At most {NAME_MAX_LENGTH} characters."})
    return name


def clean_rate_limit(limit: int | None) -> int | None:
    if limit is not None and not (1 <= limit <= 1_000_000):
        raise ValidationError({"rate_limit_per_minute": "Between 1 and 1,000,000, or empty."})
    return limit
