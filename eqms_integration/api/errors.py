"""Django-level error pages (400, 403, 404, 500) that answer API paths in the API's error
format, and a catch-all route so an unknown API path is JSON even with DEBUG on."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from eqms_integration.api.exceptions import RequestTooLarge, error_body


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


def api_aware_500(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return _json("server_error", "An unexpected error occurred; it has been logged.", 500)
    return defaults.server_error(request)
