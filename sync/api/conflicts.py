"""REST endpoints of sync conflicts and of the generic record store."""

from __future__ import annotations

from typing import Any

from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from sync.api import docs, serializers
from sync.models import SyncConflict, SyncRecord
from sync.services.conflicts import RemoteWriteError, conflict_resolve


class RemoteUnavailable(APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = "The external system could not take the values; nothing was changed."
    default_code = "remote_error"


@docs.conflict_docs
class SyncConflictViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    queryset = SyncConflict.objects.select_related("configuration", "resolved_by")
    serializer_class = serializers.SyncConflictSerializer
    filterset_fields = ("status", "configuration", "resolved_automatically", "external_id")
    ordering_fields = ("detected_at", "updated_at", "resolved_at")
    required_permissions = {
        "list": "sync.view_syncconflict",
        "retrieve": "sync.view_syncconflict",
        "resolve": "sync.resolve_syncconflict",
    }
    required_scopes = {"list": "sync:read", "retrieve": "sync:read", "resolve": "sync:execute"}

    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = serializers.ResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            conflict = conflict_resolve(
                conflict=self.get_object(), user=request.user, **body.validated_data
            )
        except RemoteWriteError as exc:
            raise RemoteUnavailable(str(exc)) from None
        return Response(self.get_serializer(conflict).data)


@docs.record_docs
class SyncRecordViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Synced entities the QMS has no model of its own for (orders, inventory, …)."""

    queryset = SyncRecord.objects.all()
    serializer_class = serializers.SyncRecordSerializer
    filterset_fields = ("entity_type", "external_id", "configuration")
    search_fields = ("external_id",)
    ordering_fields = ("entity_type", "external_id", "updated_at")
    required_permissions = {"list": "sync.view_syncrecord", "retrieve": "sync.view_syncrecord"}
    required_scopes = {"list": "records:read", "retrieve": "records:read"}
