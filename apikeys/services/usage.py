"""Key usage, counted without a database write per request.

Each process adds requests up in memory and pushes the sums to the shared cache from a
background thread every USAGE_PUSH_SECONDS (and at exit); a celery-beat task moves the cache
sums into the key rows. A process killed outright loses at most its last few seconds of counts:
usage is a statistic, and this keeps per-request cost at no I/O at all.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.db.models import F

from apikeys import cache_keys
from apikeys.models import APIKey
from apikeys.services import store
from eqms_integration.outages import CACHE, outage_over

logger = logging.getLogger(__name__)


class _UsageBuffer:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: dict[int, list] = {}  # pk -> [count, last time, last ip]
        self.owner_pid = 0

    def add(self, pk: int, ip: str) -> None:
        with self.lock:
            if self.owner_pid != os.getpid():  # first use in this (possibly forked) process
                self.pending = {}
                self.owner_pid = os.getpid()
                threading.Thread(target=self._run, name="apikey-usage", daemon=True).start()
            entry = self.pending.setdefault(pk, [0, 0.0, ""])
            entry[0] += 1
            entry[1] = time.time()
            entry[2] = ip

    def push(self) -> None:
        with self.lock:
            pending, self.pending = self.pending, {}
        items = list(pending.items())
        for n, (pk, (count, last_time, last_ip)) in enumerate(items):
            counted = False
            try:
                cache_keys.incr(cache, cache_keys.usage_key(pk), delta=count, timeout=None)
                counted = True
                cache.set(cache_keys.last_used_key(pk), (last_time, last_ip), timeout=None)
            except Exception as exc:  # the cache is down: keep what is not pushed for later
                if store.is_cache_failure(exc):
                    store.shared_failed(exc)  # logged once per outage
                else:
                    logger.warning("could not push API-key usage to the cache", exc_info=True)
                self._keep([(pk, (0 if counted else count, last_time, last_ip)), *items[n + 1 :]])
                return
        if items:
            outage_over(CACHE)

    def _keep(self, items: list[tuple[int, tuple[int, float, str]]]) -> None:
        with self.lock:
            for pk, (count, last_time, last_ip) in items:
                entry = self.pending.setdefault(pk, [0, 0.0, ""])
                entry[0] += count
                if last_time > entry[1]:
                    entry[1], entry[2] = last_time, last_ip

    def _run(self) -> None:
        while True:
            time.sleep(settings.APIKEY_USAGE_PUSH_SECONDS)
            self.push()


_buffer = _UsageBuffer()
atexit.register(_buffer.push)


def usage_record(key_pk: int, ip: str) -> None:
    _buffer.add(key_pk, ip)


def usage_push() -> None:
    """Push this process's counted usage to the cache now (tests, shutdown)."""
    _buffer.push()


def usage_flush(batch_size: int = 1000) -> int:
    """Move counted usage from the cache into usage_count/last_used_at/last_used_ip; returns
    the number of keys updated.

    The counter is decremented by what was written, so requests counted during the flush are
    kept for the next one.
    """
    try:
        return _flush(batch_size)
    except Exception as exc:
        if not store.is_cache_failure(exc):
            raise
        store.shared_failed(exc)  # the counts wait in the cache or in the web processes
        return 0


def _flush(batch_size: int) -> int:
    updated = 0
    ids = list(APIKey.objects.values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        names = [cache_keys.usage_key(pk) for pk in chunk] + [
            cache_keys.last_used_key(pk) for pk in chunk
        ]
        found = cache.get_many(names)
        for pk in chunk:
            count = found.get(cache_keys.usage_key(pk)) or 0
            last = found.get(cache_keys.last_used_key(pk))
            if not count and last is None:
                continue
            changes: dict = {}
            if count:
                changes["usage_count"] = F("usage_count") + count
            if last is not None:
                changes["last_used_at"] = datetime.fromtimestamp(last[0], tz=UTC)
                changes["last_used_ip"] = last[1]
            APIKey.objects.filter(pk=pk).update(**changes)
            if count:
                try:
                    cache.decr(cache_keys.usage_key(pk), count)
                except ValueError:
                    logger.info("usage counter of key %s vanished during the flush", pk)
            # Keep a newer timestamp written meanwhile; drop the one just stored.
            if last is not None and cache.get(cache_keys.last_used_key(pk)) == last:
                cache.delete(cache_keys.last_used_key(pk))
            updated += 1
    return updated
