"""Input and output shapes of the quality API. Validation only; writes go through services."""

from __future__ import annotations

from rest_framework import serializers

from quality.models import CAPA, NCR, Equipment, Supplier

TIMESTAMPS = ("created_at", "updated_at")


class NCRSerializer(serializers.ModelSerializer):
    class Meta:
        model = NCR
        fields = (
            "id",
            "number",
            "title",
            "description",
            "severity",
            "status",
            "source",
            "detected_at",
            "closed_at",
            *TIMESTAMPS,
        )
        read_only_fields = ("id", "number", "closed_at", *TIMESTAMPS)


class CAPASerializer(serializers.ModelSerializer):
    ncr_number = serializers.CharField(
        source="ncr.number", read_only=True, default=None, allow_null=True,
        help_text="The number of the NCR this CAPA answers; null without one.",
    )  # fmt: skip

    class Meta:
        model = CAPA
        fields = (
            "id",
            "number",
            "title",
            "description",
            "capa_type",
            "status",
            "ncr",
            "ncr_number",
            "owner",
            "due_date",
            "closed_at",
            *TIMESTAMPS,
        )
        read_only_fields = ("id", "number", "closed_at", *TIMESTAMPS)


class EquipmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Equipment
        fields = (
            "id",
            "number",
            "name",
            "category",
            "location",
            "manufacturer",
            "model",
            "serial_number",
            "status",
            "calibration_due_date",
            *TIMESTAMPS,
        )
        read_only_fields = ("id", *TIMESTAMPS)


class SupplierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Supplier
        fields = (
            "id",
            "number",
            "name",
            "contact_name",
            "email",
            "phone",
            "address",
            "status",
            "approval_status",
            *TIMESTAMPS,
        )
        read_only_fields = ("id", *TIMESTAMPS)
