from __future__ import annotations

import django_filters

from quality.models import CAPA, NCR, Equipment, Supplier


class NCRFilter(django_filters.FilterSet):
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = NCR
        fields = ("number", "status", "severity", "source")


class CAPAFilter(django_filters.FilterSet):
    updated_after = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lte")

    class Meta:
        model = CAPA
        fields = ("number", "status", "capa_type", "ncr", "owner")


class EquipmentFilter(django_filters.FilterSet):
    updated_after = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    calibration_due_before = django_filters.DateFilter(
        field_name="calibration_due_date", lookup_expr="lte"
    )

    class Meta:
        model = Equipment
        fields = ("number", "status", "category", "location")


class SupplierFilter(django_filters.FilterSet):
    updated_after = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Supplier
        fields = ("number", "status", "approval_status")
