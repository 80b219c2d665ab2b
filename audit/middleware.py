"""The audit scope of a web request: channel, request id, client address, and its actor."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from audit import actors, context
from eqms_integration.api.client_ip import client_ip

REQUEST_ID_HEADER = "X-Request-ID"
# What proxies and clients commonly send (UUIDs, trace ids); anything else is replaced.
REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}")
ADMIN_PREFIX = "/admin/"


def request_id_for(request: HttpRequest) -> str:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    return incoming if REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


class AuditContextMiddleware:
    """Opens an audit scope around each request and echoes its request id.

    Channel `admin` under /admin/, `api` elsewhere. The actor is resolved when an event is
    recorded, not here: DRF authenticates (API key or session) inside the view, later than
    any middleware runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_for(request)
        channel = context.ADMIN if request.path_info.startswith(ADMIN_PREFIX) else context.API
        with context.audit_context(
            actor=lambda: actors.from_request(request),
            channel=channel,
            request_id=request_id,
            client_ip=client_ip(request),
        ):
            response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response
