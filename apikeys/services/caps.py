"""Failure caps: how much bcrypt work presented keys may cause, without locking out the right
clients.

Every presented key not answered from the verification cache costs one bcrypt check: against
the key's hash, or against a dummy hash of the same cost when the key_id is unknown, revoked
or expired (so the answer takes as long either way, and unknown ids are capped like any).
A check takes its slot in the per-pair and per-address counters before it runs, so parallel
guesses cannot overshoot those caps, and gives it back when the key is right.

Per window of APIKEY_FAILURE_WINDOW_SECONDS (an address is an IPv4 address or an IPv6 /64):
- one key_id from one address: APIKEY_MAX_FAILURES_PER_KEY_AND_IP failed checks, then 429 for
  that key_id from that address;
- one address, any key_ids: APIKEY_MAX_FAILURES_PER_IP, then 429 from that address for every
  key_id that was not verified from it before;
- one key_id from all addresses: APIKEY_MAX_FAILURES_PER_KEY, then an audit event, and checks
  of that key_id from addresses it was never verified from are admitted one per second
  (429 with Retry-After: 1 to the others) — slowed, not locked;
- the whole service: APIKEY_MAX_FAILURES, then the same one-per-second lane for every check
  from an address its key_id was never verified from.
A key verified from an address is remembered with that address for VERIFIED_FROM_SECONDS, so
clients already known keep working through an attack on their key or from behind the
attacker's proxy; and the key itself (an HMAC of it, with the key's generation) is remembered
as long, so the right key from an address never seen is accepted without a bcrypt check and
without a slot: guesses from many addresses cannot fill the slowed lane in front of it. Only a
key never verified yet waits in that lane. Whatever the number of addresses an attacker has,
the service runs at most APIKEY_MAX_FAILURES + one per second of the window failed checks,
plus those on key/address pairs already known (each capped as a pair).
"""

from __future__ import annotations

import hmac
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache.backends.base import BaseCache

from apikeys import cache_keys
from apikeys.models import APIKey, APIKeyEvent
from apikeys.services.audit import event_record

logger = logging.getLogger(__name__)

VERIFIED_FROM_SECONDS = 30 * 24 * 3600
SLOW_LANE_CHECKS_PER_SECOND = 1
EVERYONE = "*"  # the service-wide slow lane


class TooManyFailures(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many failed API-key attempts.")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Slots:
    """Failed checks counted so far, this one included."""

    pair: int
    ip: int


def admit(backend: BaseCache, key_id: str, ip: str) -> Slots:
    """Take this check's slots, or refuse it (TooManyFailures) and take nothing."""
    window = settings.APIKEY_FAILURE_WINDOW_SECONDS
    pair = cache_keys.incr(backend, cache_keys.failures_by_pair(key_id, ip), timeout=window)
    by_ip = cache_keys.incr(backend, cache_keys.failures_by_ip(ip), timeout=window)
    try:
        if pair > settings.APIKEY_MAX_FAILURES_PER_KEY_AND_IP:
            raise TooManyFailures(window)
        lane = _slowed_lane(backend, key_id)
        over_ip = by_ip > settings.APIKEY_MAX_FAILURES_PER_IP
        if (over_ip or lane) and backend.get(cache_keys.verified_from_key(key_id, ip)) is None:
            if over_ip:
                raise TooManyFailures(window)
            if lane and not _lane_admits(backend, lane):
                raise TooManyFailures(1)
    except TooManyFailures:
        # A refused check runs no bcrypt, and must not extend the window either.
        release(backend, key_id, ip)
        raise
    return Slots(pair=pair, ip=by_ip)


def _slowed_lane(backend: BaseCache, key_id: str) -> str | None:
    """The lane this key_id's checks are slowed in, if the key or the service is under attack."""
    by_key, everyone = cache_keys.failures_by_key(key_id), cache_keys.FAILURES_ALL
    counts = backend.get_many([by_key, everyone])
    if counts.get(everyone, 0) >= settings.APIKEY_MAX_FAILURES:
        return EVERYONE
    if counts.get(by_key, 0) >= settings.APIKEY_MAX_FAILURES_PER_KEY:
        return key_id
    return None


def _lane_admits(backend: BaseCache, lane: str) -> bool:
    second = int(time.time())
    # Named by its second, so a long lifetime changes nothing and survives a slow request.
    admitted = cache_keys.incr(backend, cache_keys.slow_lane_key(lane, second), timeout=60)
    return admitted <= SLOW_LANE_CHECKS_PER_SECOND


def release(backend: BaseCache, key_id: str, ip: str) -> None:
    cache_keys.give_back(backend, cache_keys.failures_by_pair(key_id, ip))
    cache_keys.give_back(backend, cache_keys.failures_by_ip(ip))


def verified(backend: BaseCache, key_id: str, ip: str, *, raw: str, generation: int) -> None:
    """A right key: its check costs no failure budget, and it is now known, with its address."""
    release(backend, key_id, ip)
    remember(backend, key_id, ip, raw=raw, generation=generation)


def remember(backend: BaseCache, key_id: str, ip: str, *, raw: str, generation: int) -> None:
    backend.set_many(
        {
            cache_keys.verified_from_key(key_id, ip): 1,
            cache_keys.known_key(key_id): {
                "digest": cache_keys.digest_of(raw),
                "generation": generation,
            },
        },
        timeout=VERIFIED_FROM_SECONDS,
    )


def known(backend: BaseCache, key_id: str, *, raw: str, generation: int) -> bool:
    """This very key was verified with bcrypt before, at the generation its row has now."""
    remembered = backend.get(cache_keys.known_key(key_id))
    return (
        isinstance(remembered, dict)
        and remembered.get("generation") == generation
        and hmac.compare_digest(str(remembered.get("digest", "")), cache_keys.digest_of(raw))
    )


def failed(backend: BaseCache, key: APIKey | None, key_id: str, ip: str, slots: Slots) -> None:
    """A wrong key: the slots stay taken, the key-wide and service-wide counts grow, and the
    failure that fills a cap up is audited (once per cap and window)."""
    window = settings.APIKEY_FAILURE_WINDOW_SECONDS
    by_key = cache_keys.incr(backend, cache_keys.failures_by_key(key_id), timeout=window)
    everyone = cache_keys.incr(backend, cache_keys.FAILURES_ALL, timeout=window)
    capped = [
        name
        for name, count, cap in (
            ("key_id_and_ip", slots.pair, settings.APIKEY_MAX_FAILURES_PER_KEY_AND_IP),
            ("ip", slots.ip, settings.APIKEY_MAX_FAILURES_PER_IP),
            ("key_id", by_key, settings.APIKEY_MAX_FAILURES_PER_KEY),
            ("all", everyone, settings.APIKEY_MAX_FAILURES),
        )
        if count == cap
    ]
    if not capped:
        return
    logger.warning("API-key failure cap reached for %s (key_id=%s ip=%s)", capped, key_id, ip)
    details = {
        "capped": capped,
        "failures_by_key_and_ip": slots.pair,
        "failures_by_ip": slots.ip,
        "failures_by_key": by_key,
        "failures_of_service": everyone,
        "ip_bucket": cache_keys.ip_bucket(ip),
        "window_seconds": window,
    }
    event_record(
        key=key,
        key_id=key_id,
        event_type=APIKeyEvent.Type.REPEATED_FAILURES,
        ip=ip,
        details=details,
        reason=f"Failure cap reached: {', '.join(capped)}",
    )


@dataclass(frozen=True)
class Lockouts:
    """What the caps refuse or slow now (for the dashboard): key_ids whose checks from new
    addresses are slowed, (key_id, address) pairs refused, addresses refused for new cache_keys."""

    slowed_keys: set[str]
    refused_pairs: set[tuple[str, str]]
    refused_ips: set[str]


def lockouts_now(
    backend: BaseCache, *, key_ids: list[str], pairs: list[tuple[str, str]], ips: list[str]
) -> Lockouts:
    """Which of these are over their cap in the current window: one cache round trip."""
    names = {
        **{cache_keys.failures_by_key(k): ("key", k) for k in key_ids},
        **{cache_keys.failures_by_pair(k, ip): ("pair", (k, ip)) for k, ip in pairs},
        **{cache_keys.failures_by_ip(ip): ("ip", ip) for ip in ips},
    }
    caps = {
        "key": settings.APIKEY_MAX_FAILURES_PER_KEY,
        "pair": settings.APIKEY_MAX_FAILURES_PER_KEY_AND_IP,
        "ip": settings.APIKEY_MAX_FAILURES_PER_IP,
    }
    counts = backend.get_many(list(names))
    over = [
        (kind, what)
        for name, (kind, what) in names.items()
        if (counts.get(name) or 0) >= caps[kind]
    ]
    return Lockouts(
        slowed_keys={what for kind, what in over if kind == "key"},
        refused_pairs={what for kind, what in over if kind == "pair"},
        refused_ips={what for kind, what in over if kind == "ip"},
    )
