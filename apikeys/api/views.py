"""REST management of API keys: Admin role with a session. Keys cannot manage keys (no view
here declares a scope)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apikeys import services
from apikeys.api import docs, serializers
from apikeys.models import APIKey, APIKeyEvent
from eqms_integration.api.client_ip import client_ip
from eqms_integration.api.permissions import model_permissions


def _issued(issued: services.IssuedKey) -> dict[str, Any]:
    data = serializers.APIKeySerializer(issued.api_key).data
    return {"key": issued.key, **data}


@docs.key_docs
class APIKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = APIKey.objects.select_related("revoked_by", "created_by", "rotated_from")
    serializer_class = serializers.APIKeySerializer
    filterset_fields = ("is_active",)
    search_fields = ("name", "description", "key_id")
    ordering_fields = ("created_at", "name", "last_used_at", "expires_at")
    required_permissions = model_permissions(
        "apikeys",
        "apikey",
        extra={
            "destroy": "apikeys.delete_apikey",
            "revoke": "apikeys.revoke_apikey",
            "rotate": "apikeys.rotate_apikey",
            "events": "apikeys.view_apikey",
        },
    )

    def _who(self, request: Request) -> dict[str, Any]:
        return {"actor": request.user, "ip": client_ip(request)}

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = services.apikey_create(**serializer.validated_data, **self._who(request))
        return Response(_issued(issued), status=status.HTTP_201_CREATED)

    def update(
        self, request: Request, *args: Any, partial: bool = False, **kwargs: Any
    ) -> Response:
        key = self.get_object()
        serializer = self.get_serializer(key, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        key = services.apikey_update(
            key=key, data=dict(serializer.validated_data), **self._who(request)
        )
        return Response(self.get_serializer(key).data)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.apikey_delete(key=self.get_object(), **self._who(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = serializers.RevokeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        key = services.apikey_revoke(
            key=self.get_object(), reason=body.validated_data["reason"], **self._who(request)
        )
        return Response(self.get_serializer(key).data)

    @action(detail=True, methods=["post"])
    def rotate(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = serializers.RotateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        grace = timedelta(seconds=body.validated_data["grace_period_seconds"])
        issued = services.apikey_rotate(key=self.get_object(), grace=grace, **self._who(request))
        return Response(_issued(issued), status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["get"])
    def events(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = self.get_object()
        page = self.paginate_queryset(key.events.all())
        return self.get_paginated_response(serializers.APIKeyEventSerializer(page, many=True).data)


@docs.event_docs
class APIKeyEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The audit trail of every key, deleted ones included, newest first; filter by
    `?key_id=` and `?event_type=`. Read-only: events are append-only."""

    queryset = APIKeyEvent.objects.all()
    serializer_class = serializers.APIKeyEventSerializer
    filterset_fields = ("key_id", "event_type")
    ordering_fields = ("created_at",)
    required_permissions = {"list": "apikeys.view_apikeyevent"}
