from __future__ import annotations

from rest_framework import serializers

from apikeys.models import APIKey, APIKeyEvent
from apikeys.scopes import SCOPES
from apikeys.services.lifecycle import DEFAULT_ROTATION_GRACE, MAX_ROTATION_GRACE
from apikeys.validation import NAME_MAX_LENGTH

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

    schema_description = (
        "An API key without its secret: the key itself is shown once, when it is created or "
        "rotated."
    )

    name = serializers.CharField(max_length=NAME_MAX_LENGTH)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=list(SCOPES)), allow_empty=False
    )
    allowed_networks = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False
    )
    state = serializers.ChoiceField(
        choices=["active", "revoked", "expired"],
        read_only=True,
        help_text="`active` works; `revoked` (revoked, or replaced after a rotation's grace) "
        "and `expired` are refused with 401.",
    )
    revoked_by = serializers.StringRelatedField(
        allow_null=True, help_text="Who revoked it (a username); null while not revoked."
    )
    created_by = serializers.StringRelatedField(
        allow_null=True, help_text="Who created it; null when made by a command."
    )
    rotated_from = serializers.SlugRelatedField(
        slug_field="key_id",
        read_only=True,
        allow_null=True,
        help_text="The key_id of the key this one replaced by rotation; null otherwise.",
    )

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

    schema_description = (
        "A key just issued, with `key`: the only time the full key is shown. Store it now."
    )

    key = serializers.CharField(
        read_only=True, help_text="`eqms_<key_id>_<secret><checksum>`; send it as `X-API-Key`."
    )

    class Meta(APIKeySerializer.Meta):
        fields = ("key", *APIKeySerializer.Meta.fields)


class RevokeSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=255, help_text="Why the key is revoked (required; kept in the audit trail)."
    )


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
