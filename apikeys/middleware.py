from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class APIKeyExpiryHeaderMiddleware:
    """Adds `X-API-Key-Expires` (ISO 8601) to responses of requests made with an expiring key."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        expires_at = getattr(request, "api_key_expires_at", None)
        if expires_at is not None:
            response["X-API-Key-Expires"] = expires_at.isoformat()
        return response
