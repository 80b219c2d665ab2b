"""HTTP for REST connections: every request passes the SSRF guard (SYNC_ALLOWED_* allowlist) and
goes to the address it checked, has connect/read timeouts, follows no redirect, reads answers
up to a size cap and a deadline, retries 429/503 a few times after the Retry-After the server
asks for; no message carries a credential, and a failed connection says only that it failed
(not whether the port was closed, filtered or spoke something else)."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from urllib3.util.ssl_match_hostname import CertificateError

from eqms_integration.http_headers import parse_retry_after
from eqms_integration.json_depth import MAX_DEPTH, deeper_than
from eqms_integration.pinned_http import PinnedAdapter
from eqms_integration.ssrf import SYNC, UnsafeURLError
from sync.connectors.errors import ConnectorError, redact

USER_AGENT = "E-QMS-Sync/1.0"
CHUNK = 64 * 1024
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
EXCERPT_BYTES = 64 * 1024  # of a write's answer only the start is kept, for the message
RETRIES = 3
MAX_RETRY_WAIT = 60.0  # seconds; a server asking for longer fails the request instead
RETRYABLE = (429, 503)
BODY_DEADLINE_FACTOR = 4  # an answer must arrive within 4 x timeout, however slowly it drips


@dataclass(frozen=True)
class Answer:
    method: str
    url: str  # as requested, with the query; display() it in messages
    status: int
    headers: Mapping[str, str]
    body: bytes
    retries: int = 0
    note: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def display(url: str) -> str:
    """A URL fit for a message: no user:password@. Not shortened here: messages are cut only
    once their secrets are removed (`redact`)."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port


def _certificate_refused(exc: BaseException) -> bool:
    """True when a TLS certificate check (chain or host name) is among the causes: requests
    wraps urllib3's error, which wraps the ssl module's or its own host name check's."""
    stack, seen = [exc], set()
    while stack:
        error = stack.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, ssl.SSLCertVerificationError | CertificateError):
            return True
        linked = [*error.args, getattr(error, "reason", None), error.__cause__, error.__context__]
        stack += [e for e in linked if isinstance(e, BaseException)]
    return False


def retry_wait(header: str | None, attempt: int) -> float:
    """Seconds to wait before retry number attempt+1: the Retry-After the server sent, else
    1, 2, 4 s."""
    wait = parse_retry_after(header, now=datetime.now(UTC))
    return float(2**attempt) if wait is None else wait


class HttpClient:
    def __init__(
        self,
        *,
        timeout: float,
        secrets: list[str],
        sleep: Callable[[float], None],
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        max_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.timeout = timeout
        self.secrets = secrets
        self.sleep = sleep
        self.max_bytes = max_bytes
        self.http = requests.Session()
        self.http.trust_env = False  # no proxy, .netrc or CA bundle from the environment
        for scheme in ("http://", "https://"):
            self.http.mount(scheme, PinnedAdapter(SYNC))
        self.http.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        self.http.headers.update(headers or {})
        self.http.auth = auth
        self._fetch_token: Callable[[], tuple[str, float | None]] | None = None
        self._token_renew_at: float | None = None

    def close(self) -> None:
        self.http.close()

    def use_token(self, fetch: Callable[[], tuple[str, float | None]]) -> None:
        """Send a bearer token from `fetch` (token, lifetime in seconds or None): fetched now,
        again shortly before its lifetime ends, and again when a request is answered 401."""
        self._fetch_token = fetch
        self._renew_token()

    def _renew_token(self) -> None:
        token, lifetime = self._fetch_token()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.secrets.append(token)
        # Renew a little early: at 90 % of the lifetime, and at least 5 s before it ends.
        margin = min(max(5.0, lifetime * 0.1), lifetime / 2) if lifetime else 0.0
        self._token_renew_at = time.monotonic() + lifetime - margin if lifetime else None

    def fail(self, text: str) -> ConnectorError:
        return ConnectorError(redact(text, self.secrets))

    def excerpt(self, body: bytes, limit: int = 200) -> str:
        """The start of an answer for a message: the whole body redacted first, then cut."""
        return redact(body.decode("utf-8", errors="replace"), self.secrets, limit=limit)

    def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        form: Mapping[str, str] | None = None,
        excerpt_only: bool = False,
    ) -> Answer:
        """One request, retried on 429/503 as the server asks. Network trouble, an oversized
        or too slow answer raise ConnectorError; any HTTP status is returned."""
        renewed = False
        for attempt in range(RETRIES + 1):
            if self._token_renew_at is not None and time.monotonic() >= self._token_renew_at:
                self._renew_token()
            answer = self._once(method, url, params, body, form, excerpt_only)
            if answer.status == 401 and self._fetch_token is not None and not renewed:
                renewed = True  # the token may have been revoked or expired early: once more
                self._renew_token()
                answer = self._once(method, url, params, body, form, excerpt_only)
            if answer.status not in RETRYABLE or attempt == RETRIES:
                return replace(answer, retries=attempt)
            wait = retry_wait(answer.headers.get("Retry-After"), attempt)
            if wait > MAX_RETRY_WAIT:
                note = f"asked to retry after {wait:.0f} s (we wait at most {MAX_RETRY_WAIT:.0f} s)"
                return replace(answer, retries=attempt, note=note)
            self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        body: bytes | None,
        form: Mapping[str, str] | None,
        excerpt_only: bool,
    ) -> Answer:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        try:
            response = self.http.request(
                method,
                url,
                params=params,
                data=body if body is not None else form,
                headers=headers,
                timeout=(self.timeout, self.timeout),
                allow_redirects=False,
                stream=True,
            )
        except UnsafeURLError as exc:
            text = f"{method} {display(url)} was refused by the SSRF guard: {exc}"
            raise self.fail(text) from None
        except requests.RequestException as exc:
            text = f"{method} {display(url)} failed: {self._network_problem(exc)}"
            raise self.fail(text) from None
        with response:
            body = self._read(response, f"{method} {display(response.url or url)}", excerpt_only)
            return Answer(method, response.url or url, response.status_code, response.headers, body)

    def _network_problem(self, exc: requests.RequestException) -> str:
        if isinstance(exc, requests.ReadTimeout):
            return f"no answer within {self.timeout:g} s (timed out)."
        if isinstance(exc, requests.ConnectionError):
            if _certificate_refused(exc):
                return "the server's TLS certificate is not valid for this host."
            # Refused, unreachable, timed out or not speaking HTTP(S): one answer for all, so
            # that a connection cannot be used to tell closed ports from filtered ones.
            _, host, port = origin(exc.request.url if exc.request else "")
            return f"could not connect to {host}:{port}."
        return f"{type(exc).__name__}: {exc}"

    def _read(self, response: requests.Response, request: str, excerpt_only: bool) -> bytes:
        limit = EXCERPT_BYTES if excerpt_only else self.max_bytes
        too_large = self.fail(
            f"The answer to {request} is larger than {limit / 1048576:g} MB; "
            "ask for smaller pages (page_size)."
        )
        declared = response.headers.get("Content-Length", "")
        if not excerpt_only and declared.isdigit() and int(declared) > limit:
            raise too_large
        deadline = time.monotonic() + BODY_DEADLINE_FACTOR * self.timeout
        body = bytearray()
        try:
            for chunk in response.iter_content(CHUNK):
                body += chunk
                if len(body) > limit:
                    if excerpt_only:
                        return bytes(body[:limit])
                    raise too_large
                if time.monotonic() > deadline:
                    raise self.fail(
                        f"{request} took more than {BODY_DEADLINE_FACTOR * self.timeout:.0f} s "
                        "to send its answer."
                    )
        except requests.RequestException as exc:
            text = f"Reading the answer to {request} failed: {type(exc).__name__}: {exc}"
            raise self.fail(text) from None
        return bytes(body)

    def problem(self, answer: Answer) -> str:
        """Why a non-2xx answer is not a success, in one sentence without secrets."""
        head = f"{answer.method} {display(answer.url)} answered HTTP {answer.status}"
        if 300 <= answer.status < 400:
            text = f"{head} (a redirect); redirects are not followed: use the final address"
        elif answer.status in (401, 403):
            text = f"{head}: the credentials were refused"
        elif answer.status in RETRYABLE:
            text = f"{head}: {answer.note or f'still after {answer.retries} retries'}"
        else:
            text = f"{head}: {self.excerpt(answer.body)}".rstrip(": ")
        return redact(text, self.secrets)

    def json_of(self, answer: Answer) -> Any:
        def too_deep() -> ConnectorError:
            return self.fail(
                f"The JSON from {answer.method} {display(answer.url)} is nested deeper than "
                f"{MAX_DEPTH} levels; not read."
            )

        try:
            document = json.loads(answer.body)
        except RecursionError:  # a hostile or broken API: [[[[…]]]] deeper than Python parses
            raise too_deep() from None
        except ValueError:
            kind = answer.headers.get("Content-Type") or "no Content-Type"
            raise self.fail(
                f"Expected JSON from {answer.method} {display(answer.url)}, got {kind}: "
                f"{self.excerpt(answer.body, 100)!r}"
            ) from None
        # Values nested this deep would break what shows or stores them later (admin pages).
        if deeper_than(document):
            raise too_deep()
        return document

    def get_json(self, url: str, params: Mapping[str, Any] | None = None) -> tuple[Any, str]:
        """The decoded JSON of a 2xx answer, and the URL it came from (with the query)."""
        answer = self.send("GET", url, params=params)
        if not answer.ok:
            raise self.fail(self.problem(answer))
        return self.json_of(answer), answer.url
