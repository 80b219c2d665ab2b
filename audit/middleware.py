"""The audit scope of a web request: channel, request id, client address, and its actor."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from audit import actors, context
from eqms_integration import request_id
from eqms_integration.api.client_ip import client_ip

ADMIN_PREFIX = "/admin/"


class AuditContextMiddleware:
    """Opens an audit scope around each request, with the request id that
    `eqms_integration.request_id.RequestIdMiddleware` (earlier in MIDDLEWARE) gave it.

    Channel `admin` under /admin/, `api` elsewhere. The actor is resolved when an event is
    recorded, not here: DRF authenticates (API key or session) inside the view, later than
    any middleware runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        channel = context.ADMIN if request.path_info.startswith(ADMIN_PREFIX) else context.API
        with context.audit_context(
            actor=lambda: actors.from_request(request),
            channel=channel,
            request_id=getattr(request, "request_id", None) or request_id.new(),
            client_ip=client_ip(request),
        ):
            return self.get_response(request)
