"""Response headers every API answer carries."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


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
