"""The id of the request being served, for log lines and audit rows alike.

One context variable, set by `RequestIdMiddleware` for the whole of a request: from the
client's `X-Request-ID` when it is well-formed (so a proxy's or caller's id follows the request
through), otherwise a new one. The answer carries it back in `X-Request-ID`. Anything that runs
outside a request (tasks, commands) sees None. Other modules read it with `current()`; nothing
else should set it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
META_KEY = "HTTP_X_REQUEST_ID"
# Printable, no spaces or quotes, starting with a letter or digit (never `../`): safe in a log
# line, a header and a database column.
WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}")

_current: ContextVar[str | None] = ContextVar("eqms_request_id", default=None)


def current() -> str | None:
    return _current.get()


def new() -> str:
    return uuid.uuid4().hex


def from_header(value: str | None) -> str:
    """The client's id when it is well-formed, otherwise a new one."""
    if value and WELL_FORMED.fullmatch(value):
        return value
    return new()


class RequestIdMiddleware:
    """First in MIDDLEWARE, so every log line of the request (Django's own included) has it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = from_header(request.META.get(META_KEY))
        request.request_id = request_id
        _current.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


def _forget(**kwargs: object) -> None:
    # Cleared when the response is closed, after Django has logged it (django.request logs
    # 4xx/5xx answers once the middleware chain has returned), not when the middleware ends.
    _current.set(None)


request_finished.connect(_forget, dispatch_uid="eqms_request_id_forget")
