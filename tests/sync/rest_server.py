"""A fake ERP REST API on 127.0.0.1 for the REST remote tests: in-memory items listed in every
pagination style with a delta parameter, authentication checks, writes that change the items,
and misbehaviour on demand (queued replies: redirects, 429s, huge or broken answers)."""

from __future__ import annotations

import base64
import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

RESOURCE = "/api/v1/equipment"
TOKEN_PATH = "/oauth/token"


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-able; bytes are sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    filler_bytes: int = 0  # spaces streamed before the body, with no Content-Length
    delay: float = 0.0  # seconds to wait before answering


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _merge(target: dict, patch: dict) -> None:
    for name, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(name), dict):
            _merge(target[name], value)
        else:
            target[name] = value


class FakeERP:
    """State and knobs of the fake API; change them between requests from the test."""

    def __init__(self) -> None:
        self.items: dict[str, dict] = {}
        self.key = "id"
        self.cursor = "updated_at"
        self.pagination = "none"  # none | page | offset | cursor | next_link
        self.envelope = "items"  # dotted path of the list in a listing; "" = a bare list
        self.item_envelope = ""  # dotted path of the object in a single-item answer
        self.default_page_size = 5
        self.max_page_size = 5  # the server's own cap, whatever the client asks
        self.delta_param = "updated_since"  # filters cursor >= value (inclusive)
        self.stamp_writes = False  # True: a write sets the cursor field to now, as ERPs do
        self.endless = ""  # "same": the pager repeats itself; "new": it never ends
        self.link_base = ""  # next links: "" = relative, else this scheme://host:port
        self.auth: tuple[str, ...] = ("none",)
        self.replies: dict[str, list[Reply]] = {}
        self.log: list[Seen] = []
        self.tokens: list[str] = []  # every token issued, in order
        self.revoked: set[str] = set()  # tokens refused from now on (expired at the server)
        self.token_lifetime: int | None = None  # expires_in of the tokens issued
        self.last_auth = ""  # echoed by a refused write, to prove messages redact it
        # (text, header name): every request is answered 500 with the text, then that header
        # as received (an API or a proxy echoing credentials in an error page).
        self.echo: tuple[str, str] | None = None
        self.base_url = ""
        self.port = 0

    def add(self, *items: dict) -> None:
        for item in items:
            self.items[str(item[self.key])] = item

    def reply(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to `path` with these replies, in order, then as usual."""
        self.replies.setdefault(path, []).extend(replies)

    def requests(self, method: str = "GET", path: str = RESOURCE) -> list[Seen]:
        return [seen for seen in self.log if seen.method == method and seen.path == path]

    @classmethod
    @contextmanager
    def running(cls, tls: ssl.SSLContext | None = None) -> Iterator[FakeERP]:
        """The API on a free port of 127.0.0.1; over HTTPS with the `tls` server context."""
        erp = cls()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.block_on_close = False  # a deliberately slow answer must not hold the teardown
        server.erp = erp  # type: ignore[attr-defined]
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        erp.port = server.server_port
        erp.base_url = f"{'https' if tls else 'http'}://127.0.0.1:{erp.port}/"
        thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
        thread.start()
        try:
            yield erp
        finally:
            server.shutdown()
            server.server_close()

    # The API itself -----------------------------------------------------------------------

    def authorised(self, headers: Any) -> bool:
        kind, *secrets = self.auth
        given = headers.get("Authorization", "")
        if kind == "bearer":
            return given == f"Bearer {secrets[0]}"
        if kind == "basic":
            pair = base64.b64encode(f"{secrets[0]}:{secrets[1]}".encode()).decode()
            return given == f"Basic {pair}"
        if kind == "header":
            return headers.get(secrets[0]) == secrets[1]
        if kind == "oauth2":
            token = given.removeprefix("Bearer ")
            return token in self.tokens and token not in self.revoked
        return True

    def token(self, body: bytes) -> Reply:
        form = dict(parse_qsl(body.decode()))
        _, client_id, client_secret = self.auth
        given = (form.get("grant_type"), form.get("client_id"), form.get("client_secret"))
        if given != ("client_credentials", client_id, client_secret):
            return Reply(401, {"error": "invalid_client"})
        self.tokens.append(f"tok-{len(self.tokens) + 1}")
        grant = {"access_token": self.tokens[-1], "token_type": "Bearer"}
        if self.token_lifetime is not None:
            grant["expires_in"] = self.token_lifetime
        return Reply(200, grant)

    def listing(self, query: dict[str, str]) -> Reply:
        items = list(self.items.values())
        since = query.get(self.delta_param) if self.delta_param else None
        if since:
            if isinstance(next(iter(self.items.values()), {}).get(self.cursor), str):
                items = [i for i in items if _instant(i[self.cursor]) >= _instant(since)]
            else:
                items = [i for i in items if i[self.cursor] >= float(since)]
        if "ids" in query:
            wanted = query["ids"].split(",")
            items = [i for i in items if str(i[self.key]) in wanted]
        page, extra = self._page(items, query)
        if not self.envelope:
            return Reply(200, page)
        document: dict[str, Any] = {"total": len(items), **extra}
        *parents, last = self.envelope.split(".")
        target = document
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = page
        return Reply(200, document)

    def _page(self, items: list[dict], query: dict[str, str]) -> tuple[list[dict], dict]:
        def size(name: str) -> int:
            return min(int(query.get(name, self.default_page_size)), self.max_page_size)

        if self.pagination == "page":
            number = 1 if self.endless else int(query.get("page", 1))
            return items[(number - 1) * size("page_size") : number * size("page_size")], {}
        if self.pagination == "offset":
            start = 0 if self.endless else int(query.get("offset", 0))
            return items[start : start + size("limit")], {}
        if self.pagination not in ("cursor", "next_link"):
            return items, {}
        start = int(query.get("cursor" if self.pagination == "cursor" else "after", 0))
        page = items[start : start + size("limit")]
        following = start + len(page) if start + len(page) < len(items) else None
        if self.endless == "same":
            page, following = items[:1], 1
        elif self.endless == "new":
            page, following = items[:1], start + 1
        if self.pagination == "cursor":
            return page, {"next_cursor": None if following is None else str(following)}
        link = None
        if following is not None:
            link = f"{self.link_base}{RESOURCE}?{urlencode({**query, 'after': following})}"
        return page, {"next": link}

    def write(self, method: str, ident: str | None, body: bytes) -> Reply:
        item = json.loads(body)
        if "name" in item and not item["name"]:
            return Reply(422, {"error": "name must not be empty", "echo": self.last_auth})
        ident = ident if ident is not None else str(item[self.key])
        if self.stamp_writes:
            item[self.cursor] = datetime.now(UTC).isoformat()
        if method == "PATCH":
            if ident not in self.items:
                return Reply(404, {"error": "no such item"})
            _merge(self.items[ident], item)
        else:
            self.items[ident] = item
        return Reply(201 if method == "POST" else 200, self.items[ident])


class _Handler(BaseHTTPRequestHandler):
    def _handle(self, method: str) -> None:
        erp: FakeERP = self.server.erp  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        if parts.path == RESOURCE + "/":
            parts = parts._replace(path=RESOURCE)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        erp.log.append(Seen(method, parts.path, query, dict(self.headers.items()), body))
        erp.last_auth = self.headers.get("Authorization", "")
        queued = erp.replies.get(parts.path)
        if erp.echo is not None:
            text, name = erp.echo
            self._send(Reply(500, f"{text}{name}: {self.headers.get(name)}".encode("latin-1")))
        elif queued:
            self._send(queued.pop(0))
        elif parts.path == TOKEN_PATH and method == "POST":
            self._send(erp.token(body))
        elif not erp.authorised(self.headers):
            self._send(Reply(401, {"error": "unauthorized"}))
        elif parts.path == RESOURCE and method == "GET":
            self._send(erp.listing(query))
        elif parts.path == RESOURCE and method == "POST":
            self._send(erp.write(method, None, body))
        elif parts.path.startswith(RESOURCE + "/"):
            ident = unquote(parts.path.removeprefix(RESOURCE + "/").removesuffix("/"))
            if method == "GET":
                item = erp.items.get(ident)
                wrapped = {erp.item_envelope: item} if erp.item_envelope else item
                self._send(Reply(200, wrapped) if item else Reply(404, {"error": "not found"}))
            else:
                self._send(erp.write(method, ident, body))
        else:
            self._send(Reply(404, {"error": "not found"}))

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def _send(self, reply: Reply) -> None:
        if reply.delay:
            time.sleep(reply.delay)
        raw = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        headers = {"Content-Type": "application/json", **reply.headers}
        if not reply.filler_bytes:
            headers.setdefault("Content-Length", str(len(raw)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            remaining = reply.filler_bytes
            while remaining > 0:
                chunk = b" " * min(64 * 1024, remaining)
                self.wfile.write(chunk)
                remaining -= len(chunk)
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading, as it should for a huge answer

    def log_message(self, *args: object) -> None:
        pass
