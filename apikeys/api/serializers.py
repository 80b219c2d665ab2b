from __future__ import annotations

from rest_framework import serializers

from apikeys.models import APIKey, APIKeyEvent
from apikeys.scopes import SCOPES
from apikeys.services.lifecycle import DEFAULT_ROTATION_GRACE, MAX_ROTATION_GRACE
from apikeys.services.validation import NAME_MAX_LENGTH

READ_ONLY = (
    "id",
    "key_id",
    "key_preview",
    "state",
    "is_active",
    "revoked_at",
    "revoked_by",
    "revocation_reason",
    "rotated_from",
    "last_used_at",
    "last_used_ip",
    "usage_count",
    "created_by",
    "created_at",
    "updated_at",
)


class APIKeySerializer(serializers.ModelSerializer):
    """Never shows the hash or the key; validation of values happens in the services."""

    name = serializers.CharField(max_length=NAME_MAX_LENGTH)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=list(SCOPES)), allow_empty=False
    )
    allowed_networks = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False
    )
    state = serializers.CharField(read_only=True)
    revoked_by = serializers.StringRelatedField()
    created_by = serializers.StringRelatedField()
    rotated_from = serializers.SlugRelatedField(slug_field="key_id", read_only=True)

    class Meta:
        model = APIKey
        fields = (
            "name",
            "description",
            "scopes",
            "allowed_networks",
            "expires_at",
            "rate_limit_per_minute",
            *READ_ONLY,
        )
        read_only_fields = READ_ONLY


class IssuedAPIKeySerializer(APIKeySerializer):
    """The response to create and rotate: the only place the full key ever appears."""

    key = serializers.CharField(read_only=True)

    class Meta(APIKeySerializer.Meta):
        fields = ("key", *APIKeySerializer.Meta.fields)


class RevokeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class RotateSerializer(serializers.Serializer):
    grace_period_seconds = serializers.IntegerField(
        min_value=0,
        max_value=int(MAX_ROTATION_GRACE.total_seconds()),
        required=False,
        default=int(DEFAULT_ROTATION_GRACE.total_seconds()),
    )


class APIKeyEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_repr")

    class Meta:
        model = APIKeyEvent
        fields = ("id", "key_id", "event_type", "actor", "ip", "details", "created_at")
