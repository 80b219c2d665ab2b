from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audit.models import AuditEvent


class ActorSerializer(serializers.Serializer):
    type = serializers.ChoiceField(source="actor_type", choices=AuditEvent.ActorType.choices)
    id = serializers.CharField(source="actor_id")
    name = serializers.CharField(source="actor_name")


class SealSerializer(serializers.Serializer):
    sequence = serializers.IntegerField(source="seal_sequence")
    hash = serializers.CharField(source="seal_hash")
    previous_hash = serializers.CharField(source="seal_previous_hash")


class AuditEventSerializer(serializers.ModelSerializer):
    actor = ActorSerializer(source="*", read_only=True)
    seal = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = (
            "id",
            "occurred_at",
            "actor",
            "channel",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "changes",
            "reason",
            "request_id",
            "client_ip",
            "seal",
        )
        read_only_fields = fields

    @extend_schema_field(SealSerializer(allow_null=True))
    def get_seal(self, event: AuditEvent) -> dict[str, Any] | None:
        """The event's link in the hash chain; null until the sealer has chained it."""
        if getattr(event, "seal_sequence", None) is None:
            return None
        return SealSerializer(event).data
