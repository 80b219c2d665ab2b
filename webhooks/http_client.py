"""The only way webhooks leave the process: an HTTP POST through the shared SSRF guard
(`eqms_integration.ssrf`, with the WEBHOOK_ALLOWED_* allowlist).

The connection goes to the address the guard checked (`eqms_integration.pinned_http`), while
the Host header and TLS (SNI and certificate check) use the URL's host name. Redirects are
never followed, every request has connect/read timeouts, and at most WEBHOOK_MAX_RESPONSE_BYTES
of the answer are read.

Connections are kept alive and reused: one pool per (scheme, checked address, port, host name)
per process, so a busy receiver costs one TCP (and TLS) set-up per worker thread, not one per
delivery. Every request still passes the guard first, and goes to the pool of the address the
guard checked this time: an answer that resolves elsewhere gets a pool of its own, checked like
the first. At most MAX_POOLS pools are kept (the least recently used one is closed).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import urllib3
from django.conf import settings
from urllib3.exceptions import HTTPError

from eqms_integration.http_headers import HEADER_NAME, header_value_problem
from eqms_integration.pinned_http import pinned_pool
from eqms_integration.ssrf import WEBHOOKS, CheckedTarget, UnsafeURLError, url_check

CHUNK = 8192
MAX_POOLS = 256
# Kept open per receiver: as many as a process sends at once (delivery.SENDERS), so none is
# opened only to be discarded (urllib3 warns each time it must).
CONNECTIONS_PER_POOL = 16

_pools: OrderedDict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = OrderedDict()
_pools_lock = threading.Lock()


@dataclass(frozen=True)
class HttpResult:
    status_code: int | None
    body: str
    error: str
    duration_ms: int
    headers: dict[str, str]

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _timeout() -> urllib3.Timeout:
    return urllib3.Timeout(
        connect=settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS,
        read=settings.WEBHOOK_READ_TIMEOUT_SECONDS,
    )


def _pool_for(target: CheckedTarget) -> urllib3.HTTPConnectionPool:
    key = (target.scheme, target.address, target.port, target.host)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = pinned_pool(target, maxsize=CONNECTIONS_PER_POOL)
            if len(_pools) > MAX_POOLS:
                _pools.popitem(last=False)[1].close()
        else:
            _pools.move_to_end(key)
        return pool


def pools_close() -> None:
    """Close every kept connection (tests; a worker's shutdown)."""
    with _pools_lock:
        while _pools:
            _pools.popitem()[1].close()


def _read_capped(response: urllib3.BaseHTTPResponse, deadline: float) -> tuple[bytes, bool]:
    """At most the size cap, until the read deadline; and whether the answer ended. A receiver
    that drips an endless answer cannot hold the worker; the status code is already known."""
    limit = settings.WEBHOOK_MAX_RESPONSE_BYTES
    chunks: list[bytes] = []
    size = 0
    while time.monotonic() < deadline:
        chunk = response.read(min(CHUNK, limit - size)) if size < limit else b""
        if not chunk:
            return b"".join(chunks), size < limit
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), False


def _unsendable(headers: dict[str, str]) -> str:
    for name, value in headers.items():
        if not HEADER_NAME.match(name):
            return f"the header name {name!r} is not valid."
        if problem := header_value_problem(value):
            return f"the value of the header {name} {problem}; change it in the subscription."
    return ""


def post_guarded(*, url: str, body: bytes, headers: dict[str, str]) -> HttpResult:
    """POST `body` to `url`. Never raises for network trouble: the result carries the error."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    unsendable = _unsendable(headers)
    if unsendable:  # saved before the rule: say which header, never its value (a secret)
        return HttpResult(None, "", f"Not sent: {unsendable}", elapsed(), {})
    try:
        target = url_check(url, WEBHOOKS)
    except UnsafeURLError as exc:
        return HttpResult(None, "", f"Blocked by the SSRF guard: {exc}", elapsed(), {})
    pool = _pool_for(target)
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": target.host_header},
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
            timeout=_timeout(),
        )
        deadline = time.monotonic() + settings.WEBHOOK_READ_TIMEOUT_SECONDS
        raw, ended = _read_capped(response, deadline)
        if not ended:  # the rest is not read: this connection cannot carry another request
            response.close()
        response.release_conn()
        return HttpResult(
            response.status,
            raw.decode("utf-8", errors="replace"),
            "",
            elapsed(),
            {name.lower(): value for name, value in response.headers.items()},
        )
    except HTTPError as exc:
        return HttpResult(None, "", f"{type(exc).__name__}: {exc}", elapsed(), {})
    except OSError as exc:
        return HttpResult(None, "", f"Connection error: {exc}", elapsed(), {})
