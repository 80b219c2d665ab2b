"""Verifying a presented key at a cost independent of how many keys exist.

Garbage fails the format/checksum test with no I/O. A cached verification (keyed by an HMAC of
the key, checked against the key's current generation) costs one cache round trip and no
database query. Otherwise: one indexed lookup by key_id and exactly one bcrypt check within
the failure caps (apikeys/services/caps.py) — against a dummy hash of the same cost when the
key_id is unknown, revoked or expired, so that none of those answers sooner than a wrong
secret for a live key.

While the shared cache is down (apikeys/services/store.py) verification goes on from the
database: every request does the indexed lookup; a key this process has checked with bcrypt
is accepted again without bcrypt as long as its row keeps the generation it was checked at,
and the caps are counted in this process's memory.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from functools import lru_cache

import bcrypt
from django.conf import settings
from django.core.cache.backends.base import BaseCache

from apikeys import cache_keys
from apikeys.keyformat import ParsedKey, parse_key
from apikeys.models import APIKey
from apikeys.principal import KeyPrincipal
from apikeys.services import caps, store
from apikeys.services.caps import TooManyFailures

__all__ = ["KeyRejected", "TooManyFailures", "key_verify", "principal_of"]

# Requests that present the same uncached key at once wait for one bcrypt check instead of
# each taking a failure slot (a busy client would otherwise hit the cap with a right key).
CHECK_LOCK_SECONDS = 5
CHECK_POLL_SECONDS = 0.01


class KeyRejected(Exception):
    """The key is missing, malformed, unknown, wrong, revoked or expired (never says which)."""


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


@lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> bytes:
    """A hash nobody's secret matches, at the cost new keys are hashed with."""
    return bcrypt.hashpw(b"no key has this secret", bcrypt.gensalt(rounds=rounds))


def key_verify(raw: str, ip: str) -> KeyPrincipal:
    """The principal of a valid key. Expiry and network are the caller's checks: they hold
    on every request, cached or not."""
    parsed = parse_key(raw)
    if parsed is None:
        raise KeyRejected
    if not store.shared_is_down():
        try:
            principal = _verify(raw, parsed, ip, store.cache, shared=True)
        except (KeyRejected, TooManyFailures):
            store.shared_answered()
            raise
        except Exception as exc:
            if not store.is_cache_failure(exc):
                raise
            store.shared_failed(exc)
        else:
            store.shared_answered()
            return principal
    return _verify(raw, parsed, ip, store.memory, shared=False)


def _verify(
    raw: str, parsed: ParsedKey, ip: str, backend: BaseCache, *, shared: bool
) -> KeyPrincipal:
    if shared:
        principal = _from_cache(backend, raw, parsed.key_id)
        if principal is not None:
            return principal
    found = APIKey.objects.filter(key_id=parsed.key_id).first()
    key = found if found is not None and found.state == "active" else None
    if not shared and key is not None and _checked_here(raw, key):
        return principal_of(key)
    checking = cache_keys.checking_key(raw)
    if not backend.add(checking, 1, timeout=CHECK_LOCK_SECONDS):
        # The same key is being checked by another request: its result is ours.
        principal = _wait_for_check(backend, raw, parsed.key_id, key, checking, shared=shared)
        if principal is not None:
            return principal
    try:
        # A check of this key may have ended between our first look and taking the lock.
        return _result(backend, raw, parsed.key_id, key, shared=shared) or _check(
            backend, key, parsed, raw, ip, found=found
        )
    finally:
        backend.delete(checking)


def _from_cache(backend: BaseCache, raw: str, key_id: str) -> KeyPrincipal | None:
    verified, generation = cache_keys.verified_key(raw), cache_keys.generation_key(key_id)
    found = backend.get_many([verified, generation])
    snapshot = found.get(verified)
    if snapshot is None or found.get(generation) != snapshot["generation"]:
        return None
    return KeyPrincipal(**snapshot)


def _checked_here(raw: str, key: APIKey) -> bool:
    """This process checked this very key with bcrypt, at the generation the row has now."""
    snapshot = store.memory.get(cache_keys.verified_key(raw))
    return snapshot is not None and snapshot["generation"] == key.generation


def _result(
    backend: BaseCache, raw: str, key_id: str, key: APIKey | None, *, shared: bool
) -> KeyPrincipal | None:
    """The principal another request's check left behind, if any."""
    if shared:
        return _from_cache(backend, raw, key_id)
    return principal_of(key) if key is not None and _checked_here(raw, key) else None


def _wait_for_check(
    backend: BaseCache,
    raw: str,
    key_id: str,
    key: APIKey | None,
    checking: str,
    *,
    shared: bool,
) -> KeyPrincipal | None:
    """Wait while another request checks this very key: its principal when it was right;
    None when it was wrong, or took too long (then the caller checks for itself)."""
    deadline = time.monotonic() + CHECK_LOCK_SECONDS
    while time.monotonic() < deadline:
        time.sleep(CHECK_POLL_SECONDS)
        principal = _result(backend, raw, key_id, key, shared=shared)
        if principal is not None:
            return principal
        if backend.add(checking, 1, timeout=CHECK_LOCK_SECONDS):
            return None  # the other check ended without a result: ours now
    return None


def _check(
    backend: BaseCache,
    key: APIKey | None,
    parsed: ParsedKey,
    raw: str,
    ip: str,
    *,
    found: APIKey | None,
) -> KeyPrincipal:
    """The one bcrypt check, within the failure caps; the same work for a key_id that is not
    a live key, against the dummy hash."""
    slots = caps.admit(backend, parsed.key_id, ip)
    target = key.secret_hash.encode() if key else _dummy_hash(settings.APIKEY_BCRYPT_ROUNDS)
    try:
        matches = bcrypt.checkpw(parsed.secret.encode(), target) and key is not None
    except BaseException:
        caps.release(backend, parsed.key_id, ip)
        raise
    if not matches:
        caps.failed(backend, found, parsed.key_id, ip, slots)
        raise KeyRejected
    caps.verified(backend, parsed.key_id, ip)

    principal = principal_of(key)
    snapshot = asdict(principal)
    store.memory.set(
        cache_keys.verified_key(raw), snapshot, timeout=settings.APIKEY_CACHE_TTL_SECONDS
    )
    if backend is not store.memory:
        # add, not set: a concurrent change may already have published a newer generation.
        backend.add(cache_keys.generation_key(key.key_id), key.generation, timeout=None)
        backend.set(
            cache_keys.verified_key(raw), snapshot, timeout=settings.APIKEY_CACHE_TTL_SECONDS
        )
    return principal
