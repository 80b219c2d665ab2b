"""The only way webhooks leave the process: an HTTP POST through the shared SSRF guard
(`eqms_integration.ssrf`, with the WEBHOOK_ALLOWED_* allowlist).

The connection goes to the address the guard checked (`eqms_integration.pinned_http`), while
the Host header and TLS (SNI and certificate check) use the URL's host name. Redirects are
never followed, every request has connect/read timeouts, and at most WEBHOOK_MAX_RESPONSE_BYTES
of the answer are read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import urllib3
from django.conf import settings
from urllib3.exceptions import HTTPError

from eqms_integration.http_headers import HEADER_NAME, header_value_problem
from eqms_integration.pinned_http import pinned_pool
from eqms_integration.ssrf import WEBHOOKS, UnsafeURLError, url_check

CHUNK = 8192


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


def _read_capped(response: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
    # A receiver that drips an endless answer cannot hold the worker: stop at the size cap or
    # at the read deadline; the status code is already known.
    limit = settings.WEBHOOK_MAX_RESPONSE_BYTES
    chunks: list[bytes] = []
    size = 0
    while size < limit and time.monotonic() < deadline:
        chunk = response.read(min(CHUNK, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


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
    pool = pinned_pool(target, timeout=_timeout())
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
        )
        try:
            deadline = time.monotonic() + settings.WEBHOOK_READ_TIMEOUT_SECONDS
            raw = _read_capped(response, deadline)
        finally:
            response.release_conn()
            response.close()
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
    finally:
        pool.close()
