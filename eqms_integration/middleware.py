"""Answers 503 (not 500) when a view outside DRF meets a backing service that is down."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from eqms_integration.api.errors import unavailable
from eqms_integration.outages import outage_report, unavailable_service


class DependencyOutageMiddleware:
    """DRF views answer through the API's exception handler; this covers the others (admin,
    probes, pages), with DEBUG on too. Errors raised by other middleware (sessions) reach
    handler500, which answers the same way."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        service = unavailable_service(exception)
        if service is None:
            return None
        outage_report(service, exception)
        return unavailable(request, service)
