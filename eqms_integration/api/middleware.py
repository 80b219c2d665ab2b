"""Request checks that hold for every API path, before any view runs."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from eqms_integration.api.exceptions import error_body

NUL = "\x00"


class RejectNulInQueryMiddleware:
    """A query parameter (name or value) holding a NUL character is a 400 naming it:
    PostgreSQL refuses NUL in text, so it would end as a 500 wherever it reached a query."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            for name, values in request.GET.lists():
                if NUL in name or any(NUL in value for value in values):
                    message = "NUL characters (U+0000) are not accepted in query parameters."
                    errors = {name: [message]}
                    body = error_body("validation_error", "The request has invalid fields.", errors)
                    return JsonResponse(body, status=400)
        return self.get_response(request)
