from __future__ import annotations

from rest_framework import serializers

from sync.models import Connection, SyncConfiguration, SyncRowError, SyncRun


class ConnectionSerializer(serializers.ModelSerializer):
    """Secrets are write-only: `has_password` / `has_credentials` say whether one is stored."""

    password = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=1000,
        style={"input_type": "password"},
    )  # fmt: skip
    credentials = serializers.DictField(write_only=True, required=False)
    has_password = serializers.SerializerMethodField()
    has_credentials = serializers.SerializerMethodField()

    class Meta:
        model = Connection
        fields = (
            "id", "name", "kind", "host", "port", "database", "username", "password",
            "has_password", "options", "base_url", "auth_type", "credentials", "has_credentials",
            "timeout_seconds", "last_tested_at", "last_test_ok", "last_test_message",
            "created_at", "updated_at",
        )  # fmt: skip
        read_only_fields = (
            "id", "last_tested_at", "last_test_ok", "last_test_message", "created_at",
            "updated_at",
        )  # fmt: skip

    def get_has_password(self, obj: Connection) -> bool:
        return bool(obj.password_encrypted)

    def get_has_credentials(self, obj: Connection) -> bool:
        return bool(obj.credentials_encrypted)


class ConnectionTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField()
    duration_ms = serializers.FloatField()


class ColumnSerializer(serializers.Serializer):
    name = serializers.CharField()
    data_type = serializers.CharField()
    nullable = serializers.BooleanField()


class SyncConfigurationSerializer(serializers.ModelSerializer):
    connection_name = serializers.CharField(source="connection.name", read_only=True)

    class Meta:
        model = SyncConfiguration
        fields = (
            "id", "name", "description", "system_type", "system_name", "connection",
            "connection_name", "entity_type", "sync_direction", "sync_type", "remote_object",
            "remote_key", "delta_field", "field_mappings", "conflict_strategy", "batch_size",
            "timeout_seconds", "max_retries", "schedule_type", "interval_minutes",
            "cron_expression", "enabled", "created_at", "updated_at",
        )  # fmt: skip
        read_only_fields = ("id", "created_at", "updated_at")


class SyncRowErrorSerializer(serializers.ModelSerializer):
    class Meta:
        model = SyncRowError
        fields = ("external_id", "message", "created_at")


class SyncRunSerializer(serializers.ModelSerializer):
    configuration_name = serializers.CharField(source="configuration.name", read_only=True)

    class Meta:
        model = SyncRun
        fields = (
            "id", "configuration", "configuration_name", "status", "trigger", "full", "dry_run",
            "attempt", "retry_of", "processed", "created", "updated", "skipped", "failed",
            "conflicted", "error", "queued_at", "started_at", "finished_at", "duration_ms",
        )  # fmt: skip
        read_only_fields = fields


class SyncRunDetailSerializer(SyncRunSerializer):
    row_errors = SyncRowErrorSerializer(many=True, read_only=True)

    class Meta(SyncRunSerializer.Meta):
        fields = (*SyncRunSerializer.Meta.fields, "row_errors")
        read_only_fields = fields


class ExecuteSerializer(serializers.Serializer):
    full = serializers.BooleanField(default=False)
    dry_run = serializers.BooleanField(default=False)
