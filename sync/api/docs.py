"""What the OpenAPI schema tells integrators about the sync endpoints (applied to the
viewsets in views.py and conflicts.py)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema

from eqms_integration.api.schema import ErrorSerializer, documented
from sync.api import serializers
from sync.models import SyncConflict, SyncRun

RUN = {
    "id": 318,
    "configuration": 4,
    "configuration_name": "ERP equipment",
    "status": "queued",
    "trigger": "api",
    "full": False,
    "dry_run": False,
    "attempt": 1,
    "retry_of": None,
    "processed": 0,
    "created": 0,
    "updated": 0,
    "skipped": 0,
    "failed": 0,
    "conflicted": 0,
    "pending_conflicts": 0,
    "missing_at_source": None,
    "retired": None,
    "error": "",
    "queued_at": "2026-11-21T06:00:00Z",
    "started_at": None,
    "finished_at": None,
    "duration_ms": None,
}
FINISHED = {
    **RUN,
    "id": 317,
    "status": "success",
    "trigger": "schedule",
    "processed": 42,
    "created": 3,
    "updated": 39,
    "started_at": "2026-11-21T05:45:00Z",
    "finished_at": "2026-11-21T05:45:02Z",
    "duration_ms": 2140,
}
CONFLICT = {
    "id": 55,
    "configuration": 4,
    "configuration_name": "ERP equipment",
    "run": 317,
    "external_id": "EQ-00017",
    "local_id": 210,
    "status": "pending",
    "strategy": "manual",
    "fields": ["name"],
    "source_values": {"name": "Caliper 0-150 (ERP)"},
    "target_values": {"name": "Caliper 0-150 mm"},
    "base_values": {"name": "Caliper"},
    "target_changed_at": "2026-11-20T16:20:00Z",
    "resolution": "",
    "resolved_value": None,
    "resolved_automatically": False,
    "resolved_by": None,
    "resolved_at": None,
    "notes": "",
    "detected_at": "2026-11-21T05:45:01Z",
    "updated_at": "2026-11-21T05:45:01Z",
}
RUN_STATUSES = ", ".join(f"`{value}`" for value in SyncRun.Status.values)


def _answer(name: str, value: object, status: str = "200") -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, status_codes=[status])


connection_docs = documented(
    "Sync connections",
    list=extend_schema(
        summary="List connections",
        description="Where external systems live and how to log in: SQL databases (`mssql`, "
        "`postgresql`, `mysql`, `sqlite`) and JSON REST APIs (`rest`). Passwords and "
        "credentials are write-only (`has_password`, `has_credentials` tell whether one is "
        "stored). Filter by `kind`; `search` looks in `name`, `host`, `database`, `base_url`.",
    ),
    retrieve=extend_schema(
        summary="Read a connection",
        description="One connection with the outcome of its last test, never its secrets.",
    ),
    create=extend_schema(
        summary="Create a connection",
        description="SQL: `kind`, `host`, `port`, `database`, `username`, `password`, "
        "`options`. REST: `base_url`, `auth_type` (`none`, `basic`, `bearer`, "
        "`api_key_header`, `oauth2_client_credentials`), `credentials` (e.g. "
        '`{"token": "…"}`) and `options` (pagination, paths, write method; see the README). '
        "Secrets are encrypted at rest and never shown again.",
    ),
    update=extend_schema(
        summary="Replace a connection",
        description="Replaces the connection's fields; omit `password` / `credentials` to "
        "keep the stored ones.",
    ),
    partial_update=extend_schema(
        summary="Change a connection",
        description="Changes the fields sent; a secret sent replaces the stored one.",
    ),
    destroy=extend_schema(
        summary="Delete a connection",
        description="Deletes the connection; one still used by configurations is a 400 "
        "naming them (delete them or move them to another connection first).",
    ),
    test=extend_schema(
        summary="Test a connection",
        description="Connects for real (and reads nothing): answers `ok`, a `message` with "
        "the reason when it fails (credentials removed) and `duration_ms`. A failure is a "
        "result, not an error of this call; the outcome is stored on the connection.",
        request=None,
        responses=serializers.ConnectionTestSerializer,
        examples=[
            _answer(
                "Reachable",
                {
                    "ok": True,
                    "message": "PostgreSQL 15.10 (Debian 15.10-0+deb12u1) on x86_64-pc-linux-gnu",
                    "duration_ms": 41.7,
                },
            ),
            _answer(
                "Refused",
                {
                    "ok": False,
                    "duration_ms": 3012.4,
                    "message": 'OperationalError: connection to server at "10.20.0.9", port '
                    "5432 failed: timeout expired",
                },
            ),
        ],
    ),
    describe=extend_schema(
        summary="Describe a table or view",
        description="The columns of `object` (`table` or `schema.table`) from the database's "
        "own catalogue, to write field mappings against. A name that does not exist or is "
        "not a plain identifier is a 400 naming `object`.",
        parameters=[
            OpenApiParameter("object", str, required=True, description="[schema.]table or view")
        ],
        responses=serializers.ColumnSerializer(many=True),
        examples=[
            _answer(
                "A column (the answer lists every one)",
                # spectacular shows the example as one item of the list
                {"name": "equipment_no", "data_type": "varchar(32)", "nullable": False},
            )
        ],
    ),
)

configuration_docs = documented(
    "Sync configurations",
    list=extend_schema(
        summary="List sync configurations",
        description="What moves where, which way and when, each with `statistics` (last "
        "finished run, totals, pending conflicts). Filter by `entity_type`, `system_type` "
        "(any case), `sync_direction`, `enabled`, `connection`; `search` looks in `name`, "
        "`description`, `system_name`, `remote_object`.",
    ),
    retrieve=extend_schema(
        summary="Read a sync configuration",
        description="One configuration with its mappings, schedule and statistics.",
    ),
    create=extend_schema(
        summary="Create a sync configuration",
        description="Pairs a connection's table (or REST resource) with a QMS entity type. "
        "On save the table, key, cursor and every mapped column are looked up in the remote "
        "catalogue: a name that does not exist is a 400 naming the field and listing what "
        "does. Schedules (`interval`, `cron`) start with the configuration.",
        examples=[
            OpenApiExample(
                "Equipment from the ERP every 15 minutes",
                request_only=True,
                value={
                    "name": "ERP equipment",
                    "system_type": "erp",
                    "system_name": "SAP ECC",
                    "connection": 2,
                    "entity_type": "equipment",
                    "sync_direction": "inbound",
                    "sync_type": "delta",
                    "remote_object": "dbo.equipment",
                    "remote_key": "equipment_no",
                    "delta_field": "changed_at",
                    "field_mappings": [
                        {"local": "name", "remote": "description", "transform": "trim"},
                        {
                            "local": "status",
                            "remote": "status_code",
                            "transform": {"type": "map", "values": {"A": "active", "R": "retired"}},
                        },
                    ],
                    "conflict_strategy": "source_wins",
                    "schedule_type": "cron",
                    "cron_expression": "*/15 6-18 * * 1-5",
                },
            ),
        ],
    ),
    update=extend_schema(
        summary="Replace a sync configuration",
        description="Replaces the configuration; the remote catalogue is checked again.",
    ),
    partial_update=extend_schema(
        summary="Change a sync configuration",
        description="Changes the fields sent (e.g. `enabled`, `cron_expression`).",
    ),
    destroy=extend_schema(
        summary="Delete a sync configuration",
        description="Deletes the configuration with its runs, conflicts and schedule.",
    ),
    execute=extend_schema(
        summary="Run a sync now",
        description="Queues a run for a worker and answers 202 at once with it; poll "
        f"`GET /api/sync/logs/{{run_id}}/` until `status` is final ({RUN_STATUSES}). "
        "`full` reads everything instead of the delta since the cursor; `dry_run` reads and "
        "maps but writes nothing. One run per configuration at a time: a second is a 400; "
        "a disabled configuration too.",
        request=serializers.ExecuteSerializer,
        responses={202: serializers.ExecutedRunSerializer, 400: ErrorSerializer},
        examples=[
            OpenApiExample("A dry run", request_only=True, value={"full": False, "dry_run": True}),
            _answer("Queued", {"run_id": 318, **RUN, "dry_run": True}, "202"),
            OpenApiExample(
                "Already running",
                response_only=True,
                status_codes=["400"],
                value={
                    "code": "validation_error",
                    "message": "The request has invalid fields.",
                    "errors": {
                        "non_field_errors": [
                            "ERP equipment is already running (run 317, in_progress)."
                        ]
                    },
                },
            ),
        ],
    ),
    logs=extend_schema(
        summary="A configuration's runs",
        description=f"Its runs, newest first, optionally by `status` ({RUN_STATUSES}).",
        parameters=[OpenApiParameter("status", str, enum=SyncRun.Status.values)],
        responses=serializers.SyncRunSerializer(many=True),
    ),
    conflicts=extend_schema(
        summary="A configuration's conflicts",
        description="Records changed on both sides since the last sync, with both values "
        "and the last agreed ones, optionally by `status` (`pending`, `resolved`, `ignored`).",
        parameters=[OpenApiParameter("status", str, enum=SyncConflict.Status.values)],
        responses=serializers.SyncConflictSerializer(many=True),
    ),
    run_status=extend_schema(
        summary="A configuration's state",
        description="The active run, the last finished one, both cursors (where the next "
        "inbound and outbound delta runs start), pending conflicts and the next scheduled "
        "start.",
        responses=serializers.RunStatusSerializer,
        examples=[
            _answer(
                "Idle, scheduled",
                {
                    "configuration": 4,
                    "enabled": True,
                    "active_run": None,
                    "last_run": FINISHED,
                    "cursor": {
                        "value": {"datetime": "2026-11-21T05:44:10+00:00"},
                        "key": "EQ-00217",
                    },
                    "local_cursor": None,
                    "pending_conflicts": 1,
                    "next_run_at": "2026-11-21T06:00:00Z",
                },
            )
        ],
    ),
    delta=extend_schema(
        summary="Preview the next delta run",
        description="Reads (and writes nothing) how many rows the next delta run would "
        "take (`count`, null when a REST API cannot tell) and the first `limit` (1 to 500, "
        "default 20) as the QMS would take them, or why one cannot be mapped. Needs a "
        "`delta_field`; an unreachable remote is a 400 on `connection`.",
        parameters=[OpenApiParameter("limit", int, description="1 to 500; default 20")],
        responses=serializers.DeltaPreviewSerializer,
        examples=[
            _answer(
                "Two rows waiting",
                {
                    "count": 2,
                    "upper_bound": {"datetime": "2026-11-21T06:02:00+00:00"},
                    "after": [{"datetime": "2026-11-21T05:44:10+00:00"}, "EQ-00217"],
                    "rows": [
                        {"external_id": "EQ-00218", "values": {"name": "Torque wrench"}},
                        {"external_id": "EQ-00219", "error": "status: 'X' is not in the value map"},
                    ],
                },
            )
        ],
    ),
)

run_docs = documented(
    "Sync runs",
    list=extend_schema(
        summary="List sync runs",
        description="Every run, newest first. Filter by `status`, `configuration`, `trigger` "
        "(`api`, `schedule`, `admin`, `command`, `retry`, `auto-retry`); `ordering` takes "
        "`queued_at`, `finished_at`, `duration_ms`.",
    ),
    retrieve=extend_schema(
        summary="Read a sync run",
        description="Status, counts (`processed`, `created`, `updated`, `skipped`, `failed`, "
        "`conflicted`, `missing_at_source`, `retired`), timing, the error and the rows that "
        "failed (`row_errors`, each with its external id). Poll it after `execute`.",
        examples=[_answer("Finished", {**FINISHED, "missing_at_source_ids": [], "row_errors": []})],
    ),
    retry=extend_schema(
        summary="Retry a run",
        description="Queues a new attempt of a finished run with the same options "
        "(`retry_of` points back); a run still active is a 400.",
        request=None,
        responses={202: serializers.SyncRunSerializer, 400: ErrorSerializer},
    ),
    cancel=extend_schema(
        summary="Cancel a run",
        description="A queued run never starts; a running one stops after its current batch "
        "(what it committed stays). A run that has ended is a 400.",
        request=None,
        responses={200: serializers.SyncRunSerializer, 400: ErrorSerializer},
    ),
)

conflict_docs = documented(
    "Sync conflicts",
    list=extend_schema(
        summary="List conflicts",
        description="Records of two-way configurations changed on both sides differently. "
        "Filter by `status`, `configuration`, `resolved_automatically`, `external_id`.",
    ),
    retrieve=extend_schema(
        summary="Read a conflict",
        description="Both sides' values, the base they last agreed on, and the differing `fields`.",
        examples=[_answer("Waiting", CONFLICT)],
    ),
    resolve=extend_schema(
        summary="Resolve a conflict",
        description="Decides a conflict: `source_wins` (the external values), `target_wins` "
        "(the QMS values), `custom_value` (your `resolved_value`, checked like any QMS "
        "input) or `ignored` (nothing changes). The chosen values are written to the QMS and "
        "to the external system in one go and become the new base; if the external system "
        "cannot take them nothing changes (502). A `reason` is required (it is kept in the "
        "conflict's notes and the audit trail; `notes` is taken as the reason when `reason` "
        "is absent); without one, or for a conflict a person decided already, the answer is "
        "400.",
        request=serializers.ResolveSerializer,
        responses={
            200: serializers.SyncConflictSerializer,
            400: ErrorSerializer,
            502: ErrorSerializer,
        },
        examples=[
            OpenApiExample(
                "Keep the QMS name",
                request_only=True,
                value={"resolution": "target_wins", "reason": "QMS naming is the standard."},
            ),
            OpenApiExample(
                "Merge by hand",
                request_only=True,
                value={
                    "resolution": "custom_value",
                    "resolved_value": {"name": "Caliper 0-150 mm"},
                    "reason": "Agreed with purchasing.",
                },
            ),
            _answer(
                "Resolved",
                {
                    **CONFLICT,
                    "status": "resolved",
                    "resolution": "target_wins",
                    "resolved_by": "qa.lead",
                    "resolved_at": "2026-11-21T08:03:00Z",
                    "notes": "QMS naming is the standard.",
                },
            ),
        ],
    ),
)

record_docs = documented(
    "Records",
    list=extend_schema(
        summary="List synced records",
        description="Entities the QMS has no model of its own for (orders, inventory, "
        "employees, customers, products, processes, quality records, inspections), as synced "
        "in. Filter by `entity_type`, `external_id`, `configuration`.",
    ),
    retrieve=extend_schema(
        summary="Read a synced record",
        description="One record with its `data` as mapped from the external system.",
    ),
)
