"""Usage counted in the cache per request and flushed to the key rows periodically, so a
request never writes to the database."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from django.core.cache import cache
from django.db.models import F

from apikeys.models import APIKey
from apikeys.services import cache as keys

logger = logging.getLogger(__name__)


def usage_record(key_pk: int, ip: str) -> None:
    keys.incr(keys.usage_key(key_pk), timeout=None)
    cache.set(keys.last_used_key(key_pk), (time.time(), ip), timeout=None)


def usage_flush(batch_size: int = 1000) -> int:
    """Move counted usage into usage_count/last_used_at/last_used_ip; returns keys updated.

    The counter is decremented by what was written, so requests counted during the flush are
    kept for the next one.
    """
    updated = 0
    ids = list(APIKey.objects.values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        names = [keys.usage_key(pk) for pk in chunk] + [keys.last_used_key(pk) for pk in chunk]
        found = cache.get_many(names)
        for pk in chunk:
            count = found.get(keys.usage_key(pk)) or 0
            last = found.get(keys.last_used_key(pk))
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
                    cache.decr(keys.usage_key(pk), count)
                except ValueError:
                    logger.info("usage counter of key %s vanished during the flush", pk)
            # Keep a newer timestamp written meanwhile; drop the one just stored.
            if last is not None and cache.get(keys.last_used_key(pk)) == last:
                cache.delete(keys.last_used_key(pk))
            updated += 1
    return updated
