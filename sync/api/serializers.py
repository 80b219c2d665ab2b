from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from eqms_integration.api.fields import CaseInsensitiveChoiceField
from sync.api.access import missing_access
from sync.configuration_checks import configuration_warnings
from sync.models import (
    Connection,
    SyncConfiguration,
    SyncConflict,
    SyncRecord,
    SyncRowError,
    SyncRun,
)
from sync.selectors import configuration_statistics


class ConnectionSerializer(serializers.ModelSerializer):
    """Secrets are write-only: `has_password` / `has_credentials` say whether one is stored."""

    password = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=1000,
        style={"input_type": "password"},
    )
    credentials = serializers.DictField(write_only=True, required=False)
    has_password = serializers.SerializerMethodField()
    has_credentials = serializers.SerializerMethodField()

    class Meta:
        model = Connection
        fields = (
            "id",
            "name",
            "kind",
            "host",
            "port",
            "database",
            "username",
            "password",
            "has_password",
            "options",
            "base_url",
            "auth_type",
            "credentials",
            "has_credentials",
            "timeout_seconds",
            "last_tested_at",
            "last_test_ok",
            "last_test_message",
            "created_at",
            "updated_at",
        )
        read_only_fields = (
            "id",
            "last_tested_at",
            "last_test_ok",
            "last_test_message",
            "created_at",
            "updated_at",
        )

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


class LastRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=SyncRun.Status.choices)
    trigger = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_ms = serializers.IntegerField(allow_null=True)
    processed = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    skipped = serializers.IntegerField()
    failed = serializers.IntegerField()
    conflicted = serializers.IntegerField()


class RunTotalsSerializer(serializers.Serializer):
    runs = serializers.IntegerField(help_text="Finished runs.")
    succeeded = serializers.IntegerField()
    partial = serializers.IntegerField()
    failed_runs = serializers.IntegerField(help_text="Failed or timed out.")
    rows_processed = serializers.IntegerField()
    rows_created = serializers.IntegerField()
    rows_updated = serializers.IntegerField()
    rows_failed = serializers.IntegerField()
    conflicts = serializers.IntegerField()


class ConfigurationStatisticsSerializer(serializers.Serializer):
    last_run = LastRunSerializer(allow_null=True, help_text="null before the first run ends.")
    totals = RunTotalsSerializer(
        allow_null=True, help_text="Over all finished runs; null before the first one."
    )
    pending_conflicts = serializers.IntegerField(help_text="Conflicts waiting for a person.")


class SyncConfigurationSerializer(serializers.ModelSerializer):
    """`statistics` (read-only): the last finished run, totals over all runs, and the number
    of conflicts waiting for a person. `warnings` (read-only): what is allowed but probably
    not meant, e.g. a transform a two-way configuration applies to reads only."""

    system_type = CaseInsensitiveChoiceField(
        choices=SyncConfiguration.SystemType.choices,
        help_text="Lower case; the upper-case spellings of earlier versions (`ERP`, `Other`) "
        "are accepted too.",
    )
    connection_name = serializers.CharField(source="connection.name", read_only=True)
    statistics = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()

    def get_warnings(self, obj: SyncConfiguration) -> list[str]:
        return configuration_warnings(obj)

    @extend_schema_field(ConfigurationStatisticsSerializer)
    def get_statistics(self, obj: SyncConfiguration) -> dict[str, Any]:
        known = self.context.get("statistics")
        if known is None or obj.pk not in known:
            known = configuration_statistics([obj.pk])
        return known[obj.pk]

    class Meta:
        model = SyncConfiguration
        fields = (
            "id",
            "name",
            "description",
            "system_type",
            "system_name",
            "connection",
            "connection_name",
            "entity_type",
            "sync_direction",
            "sync_type",
            "remote_object",
            "remote_key",
            "delta_field",
            "field_mappings",
            "conflict_strategy",
            "batch_size",
            "timeout_seconds",
            "max_retries",
            "schedule_type",
            "interval_minutes",
            "cron_expression",
            "apply_deletions",
            "enabled",
            "statistics",
            "warnings",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "statistics", "warnings", "created_at", "updated_at")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        request = self.context.get("request")
        if request is None:
            return attrs
        entity = attrs.get("entity_type", getattr(self.instance, "entity_type", ""))
        direction = attrs.get("sync_direction", getattr(self.instance, "sync_direction", ""))
        missing = missing_access(request, entity, direction)
        if missing:
            raise serializers.ValidationError(
                {
                    "entity_type": f"{'An' if direction[:1] in 'aeiou' else 'A'} {direction} "
                    f"sync of {entity} moves those records: "
                    f"configuring it takes {' and '.join(missing)} (an API key) or the "
                    "permission to view or change them (a user)."
                }
            )
        return attrs


class SyncRowErrorSerializer(serializers.ModelSerializer):
    class Meta:
        model = SyncRowError
        fields = ("external_id", "message", "created_at")


class SyncRunSerializer(serializers.ModelSerializer):
    configuration_name = serializers.CharField(source="configuration.name", read_only=True)

    class Meta:
        model = SyncRun
        fields = (
            "id",
            "configuration",
            "configuration_name",
            "status",
            "trigger",
            "full",
            "dry_run",
            "attempt",
            "retry_of",
            "processed",
            "created",
            "updated",
            "skipped",
            "failed",
            "conflicted",
            "pending_conflicts",
            "missing_at_source",
            "retired",
            "error",
            "queued_at",
            "started_at",
            "finished_at",
            "duration_ms",
        )
        read_only_fields = fields


class SyncRunDetailSerializer(SyncRunSerializer):
    row_errors = SyncRowErrorSerializer(many=True, read_only=True)

    class Meta(SyncRunSerializer.Meta):
        fields = (*SyncRunSerializer.Meta.fields, "missing_at_source_ids", "row_errors")
        read_only_fields = fields


class ExecutedRunSerializer(SyncRunSerializer):
    run_id = serializers.IntegerField(
        source="pk", read_only=True, help_text="= `id`; poll `GET /api/sync/logs/{run_id}/`."
    )

    class Meta(SyncRunSerializer.Meta):
        fields = ("run_id", *SyncRunSerializer.Meta.fields)
        read_only_fields = fields


class CursorSerializer(serializers.Serializer):
    value = serializers.JSONField(
        allow_null=True,
        help_text="The last cursor value read; "
        '`{"datetime": …}`, `{"date": …}`, `{"decimal": …}`, '
        '`{"bytes": <hex>}` or a plain number or string.',
    )
    key = serializers.JSONField(allow_null=True, help_text="The key of the last row read.")


class LocalCursorSerializer(serializers.Serializer):
    updated_at = serializers.DateTimeField(help_text="QMS rows changed up to here are out.")
    id = serializers.IntegerField()


class RunStatusSerializer(serializers.Serializer):
    configuration = serializers.IntegerField()
    enabled = serializers.BooleanField()
    active_run = SyncRunSerializer(allow_null=True, help_text="The queued or running run.")
    last_run = SyncRunSerializer(allow_null=True, help_text="The last finished run.")
    cursor = CursorSerializer(
        allow_null=True, help_text="Where the next inbound delta run starts; null before the first."
    )
    local_cursor = LocalCursorSerializer(
        allow_null=True,
        help_text="Where the next outbound delta run starts; null before the first.",
    )
    pending_conflicts = serializers.IntegerField()
    next_run_at = serializers.DateTimeField(
        allow_null=True, help_text="When the schedule starts it next; null when manual or disabled."
    )


class PreviewRowSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    values = serializers.DictField(required=False, help_text="The row as the QMS would take it.")
    error = serializers.CharField(
        required=False, help_text="Why the row could not be mapped (instead of `values`)."
    )


class DeltaPreviewSerializer(serializers.Serializer):
    count = serializers.IntegerField(
        allow_null=True,
        help_text="Rows the next delta run would read; null when a REST API cannot tell.",
    )
    upper_bound = serializers.JSONField(
        allow_null=True,
        help_text="The cursor value the run would stop at (encoded like the cursor).",
    )
    after = serializers.ListField(
        child=serializers.JSONField(),
        allow_null=True,
        help_text="[cursor, key] it would start after; null: from the beginning.",
    )
    rows = PreviewRowSerializer(many=True, help_text="The first `limit` rows, mapped.")


class ExecuteSerializer(serializers.Serializer):
    full = serializers.BooleanField(default=False)
    dry_run = serializers.BooleanField(default=False)


class SyncConflictSerializer(serializers.ModelSerializer):
    configuration_name = serializers.CharField(source="configuration.name", read_only=True)
    resolved_by = serializers.CharField(
        source="resolved_by.username", read_only=True, default=None, allow_null=True
    )
    resolution = serializers.ChoiceField(
        choices=[("", "Not decided"), *SyncConflict.Resolution.choices],
        read_only=True,
        help_text="Empty while pending.",
    )

    class Meta:
        model = SyncConflict
        fields = (
            "id",
            "configuration",
            "configuration_name",
            "run",
            "external_id",
            "local_id",
            "status",
            "strategy",
            "fields",
            "source_values",
            "target_values",
            "base_values",
            "target_changed_at",
            "resolution",
            "resolved_value",
            "resolved_automatically",
            "resolved_by",
            "resolved_at",
            "notes",
            "detected_at",
            "updated_at",
        )
        read_only_fields = fields


class ResolveSerializer(serializers.Serializer):
    resolution = serializers.ChoiceField(choices=SyncConflict.Resolution.choices)
    resolved_value = serializers.DictField(required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")

    def validate(self, attrs: dict) -> dict:
        custom = attrs["resolution"] == SyncConflict.Resolution.CUSTOM_VALUE
        if custom and not attrs.get("resolved_value"):
            raise serializers.ValidationError(
                {"resolved_value": "custom_value needs the values to apply."}
            )
        if not custom and attrs.get("resolved_value") is not None:
            raise serializers.ValidationError(
                {"resolved_value": "Only custom_value takes resolved_value."}
            )
        return attrs


class SyncRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = SyncRecord
        fields = (
            "id",
            "entity_type",
            "external_id",
            "data",
            "configuration",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields
