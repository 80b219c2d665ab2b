"""Base viewset whose writes go through services (house style: thin views)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response


class ServiceModelViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """List, retrieve, create, update and partial update; no delete.

    Subclasses set `create_service(**validated_data)` and `update_service(instance, data)`.
    """

    create_service: Callable[..., models.Model]
    update_service: Callable[[models.Model, dict[str, Any]], models.Model]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance = type(self).create_service(**serializer.validated_data)
        return Response(self.get_serializer(instance).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        instance = type(self).update_service(instance, dict(serializer.validated_data))
        return Response(self.get_serializer(instance).data)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        kwargs["partial"] = True
        return self.update(request, *args, **kwargs)
