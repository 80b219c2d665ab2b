"""Verifying a presented key at a cost independent of how many keys exist.

Garbage fails the format/checksum test with no I/O. A cached verification (keyed by an HMAC of
the key, checked against the key's current generation) costs one cache round trip and no
database query. Otherwise: one indexed lookup by key_id, revoked/expired keys refused before
bcrypt, at most one bcrypt check — and only while the failure caps for this key_id and this
client address (IPv4) or /64 (IPv6) are not reached. A check takes its place in both failure
counters before bcrypt runs and gives it back if the secret is right, so the caps hold under
parallel guesses.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict

import bcrypt
from django.conf import settings
from django.core.cache import cache

from apikeys.models import APIKey, APIKeyEvent
from apikeys.principal import KeyPrincipal
from apikeys.services import cache as keys
from apikeys.services.audit import event_record
from apikeys.services.keyformat import parse_key

logger = logging.getLogger(__name__)

# Requests that present the same uncached key at once wait for one bcrypt check instead of
# each taking a failure slot (a busy client would otherwise hit the cap with a right key).
CHECK_LOCK_SECONDS = 5
CHECK_POLL_SECONDS = 0.01


class KeyRejected(Exception):
    """The key is missing, malformed, unknown, wrong, revoked or expired (never says which)."""


class TooManyFailures(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many failed API-key attempts.")
        self.retry_after = retry_after


def principal_of(key: APIKey) -> KeyPrincipal:
    return KeyPrincipal(
        id=key.pk,
        key_id=key.key_id,
        name=key.name,
        scopes=frozenset(key.scopes),
        allowed_networks=tuple(key.allowed_networks),
        expires_at=key.expires_at,
        rate_limit_per_minute=key.rate_limit_per_minute,
        generation=key.generation,
    )


def _from_cache(raw: str, key_id: str) -> KeyPrincipal | None:
    verified, generation = keys.verified_key(raw), keys.generation_key(key_id)
    found = cache.get_many([verified, generation])
    snapshot = found.get(verified)
    if snapshot is None or found.get(generation) != snapshot["generation"]:
        return None
    return KeyPrincipal(**snapshot)


def _take_failure_slots(key_id: str, ip: str) -> tuple[int, int]:
    """Count this check as a failure before running bcrypt, so parallel wrong guesses cannot
    all pass a check made before any of them is counted. Over either cap: refused, and the
    slots are given back (a refused attempt costs no bcrypt and must not extend the window).
    Returns the counts including this attempt."""
    window = settings.APIKEY_FAILURE_WINDOW_SECONDS
    by_key = keys.incr(keys.failures_by_key(key_id), timeout=window)
    by_ip = keys.incr(keys.failures_by_ip(ip), timeout=window)
    if by_key > settings.APIKEY_MAX_FAILURES_PER_KEY or by_ip > settings.APIKEY_MAX_FAILURES_PER_IP:
        _give_back_slots(key_id, ip)
        raise TooManyFailures(window)
    return by_key, by_ip


def _give_back_slots(key_id: str, ip: str) -> None:
    keys.give_back(keys.failures_by_key(key_id))
    keys.give_back(keys.failures_by_ip(ip))


def _record_failure(key: APIKey, key_id: str, ip: str, by_key: int, by_ip: int) -> None:
    """The slots stay taken; the attempt that filled a counter up to its cap is audited."""
    capped = []
    if by_key == settings.APIKEY_MAX_FAILURES_PER_KEY:
        capped.append("key_id")
    if by_ip == settings.APIKEY_MAX_FAILURES_PER_IP:
        capped.append("ip")
    if capped:
        logger.warning("API-key failure cap reached for %s (key_id=%s ip=%s)", capped, key_id, ip)
        event_record(
            key=key, key_id=key_id, event_type=APIKeyEvent.Type.REPEATED_FAILURES, ip=ip,
            details={"capped": capped, "failures_by_key": by_key, "failures_by_ip": by_ip,
                     "ip_bucket": keys.ip_bucket(ip),
                     "window_seconds": settings.APIKEY_FAILURE_WINDOW_SECONDS},
        )  # fmt: skip


def verify_key(raw: str, ip: str) -> KeyPrincipal:
    """The principal of a valid key. Expiry and network are the caller's checks: they hold
    on every request, cached or not."""
    parsed = parse_key(raw)
    if parsed is None:
        raise KeyRejected
    principal = _from_cache(raw, parsed.key_id)
    if principal is not None:
        return principal

    key = APIKey.objects.filter(key_id=parsed.key_id).first()
    if key is None:
        # Count unknown ids per address too: probing costs the prober, not the server.
        keys.incr(keys.failures_by_ip(ip), timeout=settings.APIKEY_FAILURE_WINDOW_SECONDS)
        raise KeyRejected
    if key.state != "active":
        raise KeyRejected
    checking = keys.checking_key(raw)
    if not cache.add(checking, 1, timeout=CHECK_LOCK_SECONDS):
        # The same key is being checked by another request: its result is ours.
        principal = _wait_for_check(raw, parsed.key_id, checking)
        if principal is not None:
            return principal
    try:
        # A check of this key may have ended between our first look and taking the lock.
        return _from_cache(raw, parsed.key_id) or _check(key, parsed.key_id, parsed.secret, raw, ip)
    finally:
        cache.delete(checking)


def _wait_for_check(raw: str, key_id: str, checking: str) -> KeyPrincipal | None:
    """Wait while another request checks this very key: its cached principal when it was
    right; None when it was wrong, or took too long (then the caller checks for itself)."""
    deadline = time.monotonic() + CHECK_LOCK_SECONDS
    while time.monotonic() < deadline:
        time.sleep(CHECK_POLL_SECONDS)
        principal = _from_cache(raw, key_id)
        if principal is not None:
            return principal
        if cache.add(checking, 1, timeout=CHECK_LOCK_SECONDS):
            return None  # the other check ended without a result: ours now
    return None


def _check(key: APIKey, key_id: str, secret: str, raw: str, ip: str) -> KeyPrincipal:
    """The one bcrypt check, within the failure caps."""
    by_key, by_ip = _take_failure_slots(key_id, ip)
    try:
        matches = bcrypt.checkpw(secret.encode(), key.secret_hash.encode())
    except BaseException:
        _give_back_slots(key_id, ip)
        raise
    if not matches:
        _record_failure(key, key_id, ip, by_key, by_ip)
        raise KeyRejected
    _give_back_slots(key_id, ip)  # a correct key does not spend the failure budget

    principal = principal_of(key)
    # add, not set: a concurrent change may already have published a newer generation.
    cache.add(keys.generation_key(key.key_id), key.generation, timeout=None)
    cache.set(keys.verified_key(raw), asdict(principal), timeout=settings.APIKEY_CACHE_TTL_SECONDS)
    return principal
