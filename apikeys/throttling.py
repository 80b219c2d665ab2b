"""Per-key rate limit: a fixed one-minute window counted atomically in the cache (Redis)."""

from __future__ import annotations

import time
from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from apikeys.principal import KeyPrincipal
from apikeys.services import cache as keys


class APIKeyRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._wait = 0.0

    def allow_request(self, request: Request, view: Any) -> bool:
        principal = request.auth
        if not isinstance(principal, KeyPrincipal) or not principal.rate_limit_per_minute:
            return True
        now = time.time()
        minute = int(now // 60)
        count = keys.incr(keys.rate_key(principal.id, minute), timeout=120)
        if count <= principal.rate_limit_per_minute:
            return True
        self._wait = 60 - (now % 60)
        return False

    def wait(self) -> float:
        return self._wait
