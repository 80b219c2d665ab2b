"""REST endpoints for NCR, CAPA, equipment and suppliers."""

from __future__ import annotations

from typing import Any

from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from eqms_integration.api.permissions import model_permissions, resource_scopes
from eqms_integration.api.viewsets import ServiceModelViewSet
from quality import registry
from quality.api import docs, filters, serializers
from quality.models import CAPA, NCR, Equipment, Supplier


def _reason(request: Request) -> str:
    """The optional reason of a close, for the audit trail."""
    serializer = serializers.CloseSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data.get("reason", "")


@docs.ncr_docs
class NCRViewSet(ServiceModelViewSet):
    queryset = NCR.objects.all()
    serializer_class = serializers.NCRSerializer
    filterset_class = filters.NCRFilter
    search_fields = ("number", "title", "description", "source")
    ordering_fields = (
        "created_at",
        "updated_at",
        "number",
        "severity",
        "status",
        "detected_at",
    )
    required_permissions = model_permissions("quality", "ncr", extra={"close": "quality.close_ncr"})
    required_scopes = resource_scopes("ncr", extra={"close": "ncr:write"})
    create_service = staticmethod(registry.NCR_ENTITY.create)
    update_service = staticmethod(registry.NCR_ENTITY.update)

    @action(detail=True, methods=["post"])
    def close(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        ncr = registry.NCR_ENTITY.close(self.get_object(), reason=_reason(request))
        return Response(self.get_serializer(ncr).data)


@docs.capa_docs
class CAPAViewSet(ServiceModelViewSet):
    queryset = CAPA.objects.select_related("ncr")
    serializer_class = serializers.CAPASerializer
    filterset_class = filters.CAPAFilter
    search_fields = ("number", "title", "description", "owner")
    ordering_fields = ("created_at", "updated_at", "number", "status", "due_date")
    required_permissions = model_permissions(
        "quality", "capa", extra={"close": "quality.close_capa"}
    )
    required_scopes = resource_scopes("capa", extra={"close": "capa:write"})
    create_service = staticmethod(registry.CAPA_ENTITY.create)
    update_service = staticmethod(registry.CAPA_ENTITY.update)

    @action(detail=True, methods=["post"])
    def close(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        capa = registry.CAPA_ENTITY.close(self.get_object(), reason=_reason(request))
        return Response(self.get_serializer(capa).data)


@docs.equipment_docs
class EquipmentViewSet(ServiceModelViewSet):
    queryset = Equipment.objects.all()
    serializer_class = serializers.EquipmentSerializer
    filterset_class = filters.EquipmentFilter
    search_fields = (
        "number",
        "name",
        "serial_number",
        "manufacturer",
        "model",
        "location",
    )
    ordering_fields = ("number", "name", "updated_at", "calibration_due_date")
    required_permissions = model_permissions("quality", "equipment")
    required_scopes = resource_scopes("equipment")
    create_service = staticmethod(registry.EQUIPMENT_ENTITY.create)
    update_service = staticmethod(registry.EQUIPMENT_ENTITY.update)


@docs.supplier_docs
class SupplierViewSet(ServiceModelViewSet):
    queryset = Supplier.objects.all()
    serializer_class = serializers.SupplierSerializer
    filterset_class = filters.SupplierFilter
    search_fields = ("number", "name", "contact_name", "email")
    ordering_fields = ("number", "name", "updated_at")
    required_permissions = model_permissions("quality", "supplier")
    required_scopes = resource_scopes("suppliers")
    create_service = staticmethod(registry.SUPPLIER_ENTITY.create)
    update_service = staticmethod(registry.SUPPLIER_ENTITY.update)
