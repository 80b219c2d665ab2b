from __future__ import annotations

import django_filters

from eqms_integration.api.filters import TimestampFilterSet
from quality.models import CAPA, NCR, Equipment, Supplier


class NCRFilter(TimestampFilterSet):
    class Meta:
        model = NCR
        fields = ("number", "status", "severity", "source")


class CAPAFilter(TimestampFilterSet):
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lte")

    class Meta:
        model = CAPA
        fields = ("number", "status", "capa_type", "ncr", "owner")


class EquipmentFilter(TimestampFilterSet):
    calibration_due_before = django_filters.DateFilter(
        field_name="calibration_due_date", lookup_expr="lte"
    )

    class Meta:
        model = Equipment
        fields = ("number", "status", "category", "location")


class SupplierFilter(TimestampFilterSet):
    class Meta:
        model = Supplier
        fields = ("number", "status", "approval_status")
