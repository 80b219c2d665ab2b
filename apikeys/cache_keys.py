"""Cache entries of API-key verification (Django cache: Redis in production; this process's
memory while that cache is down, apikeys/services/store.py).

- verified:<hmac of the full key>  -> KeyPrincipal snapshot (short TTL)
- verified:<hmac>:checking         -> held while one request runs this key's bcrypt check
- generation:<key_id>              -> current generation; a snapshot of another generation is dead
- failures:pair:<key_id>:<bucket>, failures:ip:<bucket>, failures:key:<key_id>, failures:all
                                   -> failed bcrypt checks in the current window of one key_id
  from one address (or /64), of one address, of one key_id, of the service (the first two also
  hold checks under way: a check takes its slot first and gives it back on success)
- verified-from:<key_id>:<bucket>  -> this key was verified from this address before (30 days)
- slow:<lane>:<second>             -> checks admitted this second by a slowed lane
- usage:<id>, last:<id>            -> requests not yet flushed to the key row
- rate:<id>:<minute>               -> requests of a key with a rate limit, this minute
The full key never appears in a cache key: only an HMAC digest under SECRET_KEY does.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from contextlib import suppress

from django.conf import settings
from django.core.cache.backends.base import BaseCache

PREFIX = "apikeys"


def verified_key(raw: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), raw.encode(), hashlib.sha256).hexdigest()
    return f"{PREFIX}:verified:{digest}"


def generation_key(key_id: str) -> str:
    return f"{PREFIX}:generation:{key_id}"


def checking_key(raw: str) -> str:
    """Held while one request runs the bcrypt check of this key (same HMAC as verified)."""
    return verified_key(raw) + ":checking"


def failures_by_pair(key_id: str, ip: str) -> str:
    return f"{PREFIX}:failures:pair:{key_id}:{ip_bucket(ip)}"


def failures_by_ip(ip: str) -> str:
    return f"{PREFIX}:failures:ip:{ip_bucket(ip)}"


def failures_by_key(key_id: str) -> str:
    return f"{PREFIX}:failures:key:{key_id}"


FAILURES_ALL = f"{PREFIX}:failures:all"


def verified_from_key(key_id: str, ip: str) -> str:
    return f"{PREFIX}:verified-from:{key_id}:{ip_bucket(ip)}"


def slow_lane_key(lane: str, second: int) -> str:
    return f"{PREFIX}:slow:{lane}:{second}"


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


def incr(backend: BaseCache, key: str, *, delta: int = 1, timeout: int | None) -> int:
    """Increment a counter, creating it with a lifetime if absent (atomic on Redis, on the
    embedded file cache, eqms_integration.cache, and in memory).

    One round trip when the counter exists, which is the common case.
    """
    for _ in range(3):
        try:
            value = backend.incr(key, delta)
        except ValueError:  # absent: create it, unless another process just did
            if backend.add(key, delta, timeout=timeout):
                return delta
            continue
        if value == delta:
            # Expired between Redis' EXISTS and INCR, which recreate it without a lifetime.
            backend.touch(key, timeout)
        return value
    return backend.incr(key, delta)


def give_back(backend: BaseCache, key: str, *, delta: int = 1) -> None:
    """Undo an increment; a counter that expired meanwhile has nothing to give back."""
    with suppress(ValueError):
        if backend.decr(key, delta) <= 0:
            backend.delete(key)  # nothing counted: never leave a counter without its lifetime
