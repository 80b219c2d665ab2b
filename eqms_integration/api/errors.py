"""Django-level error pages (400, 403, 404, 500) that answer API paths in the API's error
format, and a catch-all route so an unknown API path is JSON even with DEBUG on. An error that
says a backing service is down is a 503 with Retry-After on every path, API or not."""

from __future__ import annotations

import sys

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from eqms_integration.api.exceptions import (
    RequestTooLarge,
    error_body,
    mark_logged,
    unavailable_body,
)
from eqms_integration.outages import RETRY_AFTER_SECONDS, outage_report, unavailable_service

UNAVAILABLE_PAGE = (
    "<!doctype html><title>Service unavailable</title><h1>Service unavailable</h1>"
    "<p>The {service} is unavailable. Try again in a few seconds.</p>"
)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _json(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status)


@csrf_exempt  # it changes nothing; without this a POST to an unknown path got the CSRF page
def api_not_found(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    return _json("not_found", "No API endpoint at this path.", 404)


def api_aware_400(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request) and isinstance(exception, RequestDataTooBig):  # read outside a view
        too_large = RequestTooLarge()
        return _json(too_large.default_code, str(too_large.detail), too_large.status_code)
    if _is_api(request):
        return _json("bad_request", "The request could not be processed.", 400)
    return defaults.bad_request(request, exception)


def api_aware_403(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json("permission_denied", "You do not have permission to do this.", 403)
    return defaults.permission_denied(request, exception)


def api_aware_404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return api_not_found(request)
    return defaults.page_not_found(request, exception)


def unavailable(request: HttpRequest, service: str) -> HttpResponse:
    """503 in the API's error shape on API paths, a short HTML page elsewhere (admin)."""
    if _is_api(request):
        response: HttpResponse = JsonResponse(unavailable_body(service), status=503)
    else:
        response = HttpResponse(UNAVAILABLE_PAGE.format(service=service), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return mark_logged(response)


def api_aware_500(request: HttpRequest) -> HttpResponse:
    # Django calls this while handling the exception, so it is still the current one: an
    # outage met by a middleware (sessions, authentication) arrives here.
    exc = sys.exc_info()[1]
    service = unavailable_service(exc) if exc is not None else None
    if service is not None:
        outage_report(service, exc)
        return unavailable(request, service)
    if _is_api(request):
        return _json("server_error", "An unexpected error occurred; it has been logged.", 500)
    return defaults.server_error(request)
