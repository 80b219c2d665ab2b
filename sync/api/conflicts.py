"""REST endpoints of sync conflicts and of the generic record store."""

from __future__ import annotations

from typing import Any

from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from sync.api import docs, serializers
from sync.api.access import entity_access, readable_entities
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

    def get_queryset(self) -> Any:
        # A conflict shows both sides' values of a record: only to those who may read it.
        entities = readable_entities(self.request)
        return super().get_queryset().filter(configuration__entity_type__in=entities)

    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = serializers.ResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        conflict = self.get_object()
        if body.validated_data["resolution"] == SyncConflict.Resolution.CUSTOM_VALUE:
            # Values of one's own choosing are a write of the record, beyond running the sync.
            entity = conflict.configuration.entity_type
            allowed, scope = entity_access(request, entity, "write")
            if not allowed:
                raise PermissionDenied(
                    f"A custom value writes the {entity} record: it takes {scope} (an API "
                    "key) or the permission to change it (a user)."
                )
        try:
            conflict = conflict_resolve(conflict=conflict, user=request.user, **body.validated_data)
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
