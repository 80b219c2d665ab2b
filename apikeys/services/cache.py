"""Cache entries of API-key verification (Django cache: Redis in production).

- verified:<hmac of the full key>  -> KeyPrincipal snapshot (short TTL)
- verified:<hmac>:checking         -> held while one request runs this key's bcrypt check
- generation:<key_id>              -> current generation; a snapshot of another generation is dead
- failures:key:<key_id>, failures:ip:<address or /64>  -> failed bcrypt checks in the current
  window (plus checks under way: a check takes its slot first and gives it back on success)
- usage:<id>, last:<id>            -> requests not yet flushed to the key row
The full key never appears in a cache key: only an HMAC digest under SECRET_KEY does.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from contextlib import suppress

from django.conf import settings
from django.core.cache import cache

PREFIX = "apikeys"


def verified_key(raw: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), raw.encode(), hashlib.sha256).hexdigest()
    return f"{PREFIX}:verified:{digest}"


def generation_key(key_id: str) -> str:
    return f"{PREFIX}:generation:{key_id}"


def checking_key(raw: str) -> str:
    """Held while one request runs the bcrypt check of this key (same HMAC as verified)."""
    return verified_key(raw) + ":checking"


def failures_by_key(key_id: str) -> str:
    return f"{PREFIX}:failures:key:{key_id}"


def failures_by_ip(ip: str) -> str:
    return f"{PREFIX}:failures:ip:{ip_bucket(ip)}"


def ip_bucket(ip: str) -> str:
    """The unit counted by the per-address failure cap: an IPv4 address, or the /64 of an IPv6
    one (a single host is usually given a whole /64 and can rotate through it freely)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def usage_key(pk: int) -> str:
    return f"{PREFIX}:usage:{pk}"


def last_used_key(pk: int) -> str:
    return f"{PREFIX}:last:{pk}"


def rate_key(pk: int, minute: int) -> str:
    return f"{PREFIX}:rate:{pk}:{minute}"


def publish_generation(key_id: str, generation: int) -> None:
    """Tell every process which generation of the key is current."""
    cache.set(generation_key(key_id), generation, timeout=None)


def incr(key: str, *, delta: int = 1, timeout: int | None) -> int:
    """Increment a counter, creating it with a lifetime if absent (atomic on Redis and on the
    embedded file cache, eqms_integration.cache).

    One round trip when the counter exists, which is the common case.
    """
    for _ in range(3):
        try:
            value = cache.incr(key, delta)
        except ValueError:  # absent: create it, unless another process just did
            if cache.add(key, delta, timeout=timeout):
                return delta
            continue
        if value == delta:
            # Expired between Redis' EXISTS and INCR, which recreate it without a lifetime.
            cache.touch(key, timeout)
        return value
    return cache.incr(key, delta)


def give_back(key: str, *, delta: int = 1) -> None:
    """Undo an increment; a counter that expired meanwhile has nothing to give back."""
    with suppress(ValueError):
        if cache.decr(key, delta) <= 0:
            cache.delete(key)  # nothing counted: never leave a counter without its lifetime


def failure_lockouts(*, key_ids: list[str], ips: list[str]) -> tuple[set[str], set[str]]:
    """Which of these key_ids and client addresses have used up their failure budget now, so
    the verification refuses them without running bcrypt (read for the dashboard; the caps
    policy lives here and in verification._take_failure_slots, and this follows it)."""
    by_key = {failures_by_key(key_id): key_id for key_id in key_ids}
    by_ip = {failures_by_ip(ip): ip for ip in ips}
    counts = cache.get_many([*by_key, *by_ip])
    keys_out = {
        key_id for name, key_id in by_key.items()
        if (counts.get(name) or 0) >= settings.APIKEY_MAX_FAILURES_PER_KEY
    }  # fmt: skip
    ips_out = {
        ip for name, ip in by_ip.items()
        if (counts.get(name) or 0) >= settings.APIKEY_MAX_FAILURES_PER_IP
    }  # fmt: skip
    return keys_out, ips_out
