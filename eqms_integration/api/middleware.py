"""What holds for every API path: request checks before any view runs, and the response
headers every API answer carries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import unquote_to_bytes

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_cache_control

from eqms_integration.api.exceptions import error_body

NUL = "\x00"


def _raw_parameters(query_string: str) -> Iterator[tuple[bytes, bytes]]:
    """(name, value) as the bytes the client sent, percent-decoded."""
    try:
        raw = query_string.encode("iso-8859-1")  # WSGI hands the bytes over as latin-1
    except UnicodeEncodeError:
        raw = query_string.encode()
    for part in raw.split(b"&"):
        if part:
            name, _, value = part.replace(b"+", b" ").partition(b"=")
            yield unquote_to_bytes(name), unquote_to_bytes(value)


def _problem(name: bytes, value: bytes) -> str | None:
    try:
        text = name.decode() + value.decode()
    except UnicodeDecodeError:
        return "Not valid UTF-8 once percent-decoded."
    if NUL in text:
        return "NUL characters (U+0000) are not accepted in query parameters."
    return None


class QueryParameterGuardMiddleware:
    """A query parameter (name or value) that is not UTF-8 or holds a NUL character is a 400
    naming it: Django would read invalid bytes as U+FFFD (a filter on text nobody sent), and
    PostgreSQL refuses NUL in text, so it would end as a 500 wherever it reached a query."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            for name, value in _raw_parameters(request.META.get("QUERY_STRING", "")):
                problem = _problem(name, value)
                if problem:
                    errors = {name.decode(errors="replace"): [problem]}
                    body = error_body("validation_error", "The request has invalid fields.", errors)
                    return JsonResponse(body, status=400)
        return self.get_response(request)


class NoStoreAPIResponses:
    """`Cache-Control: no-store` on every /api/ answer that sets no policy of its own.

    Some answers carry a secret shown once (a new or rotated API key, a webhook secret) and
    all carry quality records: no browser, proxy or client cache may keep a copy. One rule
    for the whole API rather than a header remembered view by view."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/api/") and not response.has_header("Cache-Control"):
            patch_cache_control(response, no_store=True, private=True)
        return response
