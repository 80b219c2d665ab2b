"""Django-level 404/500 pages that answer API paths in the API's error format."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from eqms_integration.api.exceptions import error_body


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def api_aware_404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("not_found", "No API endpoint at this path."), status=404)
    return defaults.page_not_found(request, exception)


def api_aware_500(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(
            error_body("server_error", "An unexpected error occurred; it has been logged."),
            status=500,
        )
    return defaults.server_error(request)
