"""REST endpoints of sync connections."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from eqms_integration.api.permissions import model_permissions
from eqms_integration.api.viewsets import ServiceModelViewSet
from sync import services
from sync.api import docs, serializers
from sync.api.filters import SyncConfigurationFilter
from sync.models import Connection, SyncConfiguration, SyncConflict, SyncRun
from sync.selectors import configuration_statistics
from sync.services.preview import delta_preview
from sync.services.runs import run_cancel, run_request, run_retry
from sync.services.schedules import next_run_at

SECRETS = ("password", "credentials")


def _split_secrets(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    secrets = {name: data.pop(name) for name in SECRETS if name in data}
    return data, secrets


@docs.connection_docs
class ConnectionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Connection.objects.all()
    serializer_class = serializers.ConnectionSerializer
    filterset_fields = ("kind",)
    search_fields = ("name", "host", "database", "base_url")
    ordering_fields = ("name", "created_at", "last_tested_at")
    required_permissions = model_permissions(
        "sync",
        "connection",
        extra={
            "destroy": "sync.delete_connection",
            "test": "sync.test_connection",
            "describe": "sync.view_connection",
        },
    )
    # A connection holds credentials and says where the service connects: only people with
    # the Admin role create, change, delete or test them. API keys read them (and manage
    # configurations on them); every other action is undeclared, so keys are refused.
    required_scopes = {"list": "sync:read", "retrieve": "sync:read", "describe": "sync:read"}

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data, secrets = _split_secrets(dict(serializer.validated_data))
        connection = services.connection_create(**data, **secrets)
        return Response(self.get_serializer(connection).data, status=status.HTTP_201_CREATED)

    def update(
        self, request: Request, *args: Any, partial: bool = False, **kwargs: Any
    ) -> Response:
        connection = self.get_object()
        serializer = self.get_serializer(connection, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data, secrets = _split_secrets(dict(serializer.validated_data))
        connection = services.connection_update(connection=connection, data=data, **secrets)
        return Response(self.get_serializer(connection).data)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.connection_delete(connection=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"])
    def test(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        result = services.connection_test(connection=self.get_object())
        return Response(asdict(result))

    @action(detail=True, methods=["get"], pagination_class=None)  # one list of columns
    def describe(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        object_name = request.query_params.get("object", "")
        if not object_name:
            raise ValidationError({"object": "Give ?object=[schema.]table."})
        columns = services.connection_describe(
            connection=self.get_object(), object_name=object_name
        )
        return Response([asdict(column) for column in columns])


@docs.configuration_docs
class SyncConfigurationViewSet(ServiceModelViewSet, mixins.DestroyModelMixin):
    queryset = SyncConfiguration.objects.select_related("connection")
    serializer_class = serializers.SyncConfigurationSerializer
    filterset_class = SyncConfigurationFilter
    search_fields = ("name", "description", "system_name", "remote_object")
    ordering_fields = ("name", "created_at", "updated_at")
    required_permissions = model_permissions(
        "sync",
        "syncconfiguration",
        extra={
            "destroy": "sync.delete_syncconfiguration",
            "execute": "sync.execute_syncconfiguration",
            "logs": "sync.view_syncrun",
            "run_status": "sync.view_syncconfiguration",
            "delta": "sync.view_syncconfiguration",
            "conflicts": "sync.view_syncconflict",
        },
    )
    required_scopes = {
        "list": "sync:read",
        "retrieve": "sync:read",
        "create": "sync:manage",
        "update": "sync:manage",
        "partial_update": "sync:manage",
        "destroy": "sync:manage",
        "execute": "sync:execute",
        "logs": "sync:read",
        "run_status": "sync:read",
        "delta": "sync:read",
        "conflicts": "sync:read",
    }
    create_service = staticmethod(services.configuration_create)
    update_service = staticmethod(
        lambda config, data: services.configuration_update(config=config, data=data)
    )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context = {
            **self.get_serializer_context(),
            "statistics": configuration_statistics(obj.pk for obj in page),
        }
        data = self.get_serializer_class()(page, many=True, context=context).data
        return self.get_paginated_response(data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.configuration_delete(config=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"])
    def execute(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = serializers.ExecuteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = run_request(config=self.get_object(), trigger="api", **body.validated_data)
        data = {"run_id": run.pk, **serializers.SyncRunSerializer(run).data}
        return Response(data, status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["get"])
    def logs(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        runs = self.get_object().runs.select_related("configuration")
        status_filter = request.query_params.get("status")
        if status_filter:
            if status_filter not in SyncRun.Status.values:
                raise ValidationError({"status": f"One of {', '.join(SyncRun.Status.values)}."})
            runs = runs.filter(status=status_filter)
        page = self.paginate_queryset(runs)
        return self.get_paginated_response(serializers.SyncRunSerializer(page, many=True).data)

    @action(detail=True, methods=["get"])
    def conflicts(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rows = self.get_object().conflicts.select_related("configuration", "resolved_by")
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in SyncConflict.Status.values:
                choices = ", ".join(SyncConflict.Status.values)
                raise ValidationError({"status": f"One of {choices}."})
            rows = rows.filter(status=wanted)
        page = self.paginate_queryset(rows)
        data = serializers.SyncConflictSerializer(page, many=True).data
        return self.get_paginated_response(data)

    @action(detail=True, methods=["get"], url_path="status")
    def run_status(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        config = self.get_object()
        runs = config.runs.select_related("configuration")
        active = runs.filter(status__in=SyncRun.ACTIVE).first()
        last = runs.exclude(status__in=SyncRun.ACTIVE).first()
        state = getattr(config, "state", None)
        return Response(
            {
                "configuration": config.pk,
                "enabled": config.enabled,
                "active_run": serializers.SyncRunSerializer(active).data if active else None,
                "last_run": serializers.SyncRunSerializer(last).data if last else None,
                "cursor": {"value": state.cursor_value, "key": state.cursor_key} if state else None,
                "local_cursor": (
                    {"updated_at": state.local_cursor_value, "id": state.local_cursor_key}
                    if state and state.local_cursor_value
                    else None
                ),
                "pending_conflicts": config.conflicts.filter(status="pending").count(),
                "next_run_at": next_run_at(config),
            }
        )

    @action(detail=True, methods=["get"])
    def delta(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            limit = min(max(int(request.query_params.get("limit", 20)), 1), 500)
        except ValueError:
            raise ValidationError({"limit": "A whole number from 1 to 500."}) from None
        return Response(delta_preview(config=self.get_object(), limit=limit))


@docs.run_docs
class SyncRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = SyncRun.objects.select_related("configuration")
    filterset_fields = ("status", "configuration", "trigger")
    ordering_fields = ("queued_at", "finished_at", "duration_ms")
    required_permissions = {
        "list": "sync.view_syncrun",
        "retrieve": "sync.view_syncrun",
        "retry": "sync.execute_syncconfiguration",
        "cancel": "sync.execute_syncconfiguration",
    }
    required_scopes = {
        "list": "sync:read",
        "retrieve": "sync:read",
        "retry": "sync:execute",
        "cancel": "sync:execute",
    }

    def get_serializer_class(self) -> type:
        if self.action == "retrieve":
            return serializers.SyncRunDetailSerializer
        return serializers.SyncRunSerializer

    @action(detail=True, methods=["post"])
    def retry(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        run = run_retry(run=self.get_object())
        return Response(serializers.SyncRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        run = run_cancel(run=self.get_object())
        return Response(serializers.SyncRunSerializer(run).data)
