"""Where API-key verification keeps its state: the shared cache, or, while that cache cannot
be reached, this process's memory — so a Redis outage does not stop external systems.

Every operation runs against the shared cache unless it is known to be down; the first failure
starts the outage (logged once, eqms_integration.outages) and the operation is done again in
memory. During the outage each process counts failure caps and rate limits on its own and
tries the shared cache again every outages.RETRY_SECONDS; the first answer ends the outage.

Key changes (revoke, rotate, new scopes) publish the key's new generation to the shared cache.
A publication that fails during an outage is kept and made when the cache answers again, so a
verification cached there before the change is not accepted afterwards. Memory never vouches
for a key on its own: a verification remembered in memory counts only while the key's row in
the database still has the same generation (apikeys/services/verification.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache

from apikeys import cache_keys
from apikeys.models import APIKey
from eqms_integration.outages import (
    CACHE,
    is_down,
    outage_over,
    outage_report,
    unavailable_service,
    worth_trying,
)

T = TypeVar("T")

memory: BaseCache = LocMemCache(
    "apikeys-during-cache-outage", {"OPTIONS": {"MAX_ENTRIES": 100_000, "CULL_FREQUENCY": 10}}
)
_lock = threading.Lock()
_unpublished: dict[str, int] = {}  # key_id -> generation the shared cache has not been told


def shared_is_down() -> bool:
    """True while an outage of the shared cache is known and not yet due for another try."""
    return not worth_trying(CACHE)


def is_cache_failure(exc: BaseException) -> bool:
    return unavailable_service(exc) == CACHE


def shared_failed(exc: BaseException) -> None:
    outage_report(CACHE, exc)


def shared_answered() -> None:
    """The shared cache answered: end its outage and tell it the changes it missed."""
    if not is_down(CACHE) and not _unpublished:
        return
    outage_over(CACHE)
    with _lock:
        missed = dict(_unpublished)
    for key_id, generation in missed.items():
        try:
            _publish_current(key_id, generation)
        except Exception as exc:
            if not is_cache_failure(exc):
                raise
            shared_failed(exc)
            return
        with _lock:
            if _unpublished.get(key_id) == generation:
                del _unpublished[key_id]


def run(operation: Callable[[BaseCache], T]) -> T:
    """operation(shared cache); operation(memory) while the shared cache is down."""
    if shared_is_down():
        return operation(memory)
    try:
        result = operation(cache)
    except Exception as exc:
        if not is_cache_failure(exc):
            raise
        shared_failed(exc)
        return operation(memory)
    shared_answered()
    return result


def generation_publish(key_id: str, generation: int) -> None:
    """Tell every process which generation of the key is current (called on commit)."""
    try:
        cache.set(cache_keys.generation_key(key_id), generation, timeout=None)
    except Exception as exc:
        if not is_cache_failure(exc):
            raise
        shared_failed(exc)
        with _lock:
            _unpublished[key_id] = max(generation, _unpublished.get(key_id, generation))


def _publish_current(key_id: str, missed: int) -> None:
    """Publish the generation the database holds now: newer than `missed` if the key changed
    again meanwhile; `missed` itself if the key was deleted (one past its last generation)."""
    current = APIKey.objects.filter(key_id=key_id).values_list("generation", flat=True).first()
    cache.set(cache_keys.generation_key(key_id), max(current or 0, missed), timeout=None)
