"""Per-key rate limit: a fixed one-minute window counted atomically in the cache (Redis).
While the cache is down each process counts in its own memory (apikeys/services/store.py), so
a key may then make up to its limit per process."""

from __future__ import annotations

import time
from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from apikeys import cache_keys
from apikeys.principal import KeyPrincipal
from apikeys.services import store


class APIKeyRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._wait = 0.0

    def allow_request(self, request: Request, view: Any) -> bool:
        principal = request.auth
        if not isinstance(principal, KeyPrincipal) or not principal.rate_limit_per_minute:
            return True
        now = time.time()
        minute = int(now // 60)
        name = cache_keys.rate_key(principal.id, minute)
        count = store.run(lambda backend: cache_keys.incr(backend, name, timeout=120))
        if count <= principal.rate_limit_per_minute:
            return True
        self._wait = 60 - (now % 60)
        return False

    def wait(self) -> float:
        return self._wait
