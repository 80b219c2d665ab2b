"""Read-only REST access to the audit trail (JSON, or CSV with ?format=csv / Accept: text/csv).

Admin, Manager and Auditor (audit.view_auditevent) and API keys with `audit:read`. There is no
write: POST, PUT, PATCH and DELETE answer 405 to whoever may read.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, renderers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from audit import export, selectors
from audit.api.filters import AuditEventFilter
from audit.api.serializers import AuditEventSerializer
from eqms_integration.api.schema import documented

READ = {"list": "audit.view_auditevent", "retrieve": "audit.view_auditevent"}


class CSVRenderer(renderers.BaseRenderer):
    """Lets content negotiation pick CSV; the views stream the rows themselves (audit.export),
    so this renderer never renders a body: errors switch back to JSON (handle_exception)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context=None):
        raise NotImplementedError("CSV bodies are streamed by the view.")


def _responses(serializer: type) -> dict:
    return {(200, "application/json"): serializer, (200, "text/csv"): OpenApiTypes.STR}


@documented(
    "Audit trail",
    list=extend_schema(
        summary="List audit events",
        description="Audit events, newest first. Filters: object_type, object_id, actor_type, "
        "actor_id, channel, action, occurred_after, occurred_before (ISO 8601, before is "
        "exclusive); `search` looks in the object's and the actor's names. `?format=csv` or "
        "`Accept: text/csv` streams the whole filtered list as CSV.",
        responses=_responses(AuditEventSerializer),
    ),
    retrieve=extend_schema(
        summary="Read an audit event",
        description="One audit event with its seal (null until the sealer has chained it).",
        responses=_responses(AuditEventSerializer),
    ),
)
class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = selectors.events_with_seal()
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    search_fields = ("object_repr", "actor_name", "object_id")
    ordering_fields = ("id", "occurred_at")
    required_permissions = READ
    required_scopes = {"list": "audit:read", "retrieve": "audit:read"}

    def get_renderers(self) -> list[renderers.BaseRenderer]:
        return [*super().get_renderers(), CSVRenderer()]

    def _wants_csv(self) -> bool:
        return isinstance(getattr(self.request, "accepted_renderer", None), CSVRenderer)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        if self._wants_csv():
            return export.csv_response(self.filter_queryset(self.get_queryset()))
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        if self._wants_csv():
            return export.csv_response([self.get_object()])
        return super().retrieve(request, *args, **kwargs)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any):
        # Only list and retrieve stream CSV; every other answer (an error in the usual JSON
        # {"code", "message", "errors"}, OPTIONS' description) is JSON whatever was asked.
        if isinstance(response, Response) and self._wants_csv():
            request.accepted_renderer = renderers.JSONRenderer()
            request.accepted_media_type = renderers.JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)
