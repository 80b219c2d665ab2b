"""Request checks that hold for every API path, before any view runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import unquote_to_bytes

from django.http import HttpRequest, HttpResponse, JsonResponse

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
