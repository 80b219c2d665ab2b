"""Input and output shapes of the quality API. Validation only; writes go through services.
The fields are the registry's (quality.registry), so the API, the admin and the services
agree on what an entity has and what may change."""

from __future__ import annotations

from rest_framework import serializers

from quality import registry


def _after(fields: tuple[str, ...], anchor: str, extra: str) -> tuple[str, ...]:
    index = fields.index(anchor) + 1
    return (*fields[:index], extra, *fields[index:])


class NCRSerializer(serializers.ModelSerializer):
    class Meta:
        model = registry.NCR_ENTITY.model
        fields = registry.NCR_ENTITY.api_fields
        read_only_fields = registry.NCR_ENTITY.api_read_only_fields


class CAPASerializer(serializers.ModelSerializer):
    ncr_number = serializers.CharField(
        source="ncr.number",
        read_only=True,
        default=None,
        allow_null=True,
        help_text="The number of the NCR this CAPA answers; null without one.",
    )

    class Meta:
        model = registry.CAPA_ENTITY.model
        fields = _after(registry.CAPA_ENTITY.api_fields, "ncr", "ncr_number")
        read_only_fields = registry.CAPA_ENTITY.api_read_only_fields


class EquipmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = registry.EQUIPMENT_ENTITY.model
        fields = registry.EQUIPMENT_ENTITY.api_fields
        read_only_fields = registry.EQUIPMENT_ENTITY.api_read_only_fields


class SupplierSerializer(serializers.ModelSerializer):
    class Meta:
        model = registry.SUPPLIER_ENTITY.model
        fields = registry.SUPPLIER_ENTITY.api_fields
        read_only_fields = registry.SUPPLIER_ENTITY.api_read_only_fields


class CloseSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Why it is closed (optional); recorded in the audit trail.",
    )
