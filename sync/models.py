"""Sync adapters: connections to external systems (this step), configurations and runs (next)."""

from __future__ import annotations

from django.db import models


class Connection(models.Model):
    """Where an external system lives and how to log in. Secrets are stored encrypted
    (FIELD_ENCRYPTION_KEYS) and never leave the service."""

    class Kind(models.TextChoices):
        MSSQL = "mssql", "SQL Server"
        POSTGRESQL = "postgresql", "PostgreSQL"
        MYSQL = "mysql", "MySQL / MariaDB"
        SQLITE = "sqlite", "SQLite"
        REST = "rest", "REST API"

    class AuthType(models.TextChoices):
        NONE = "none", "None"
        BASIC = "basic", "HTTP basic"
        BEARER = "bearer", "Bearer token"
        API_KEY_HEADER = "api_key_header", "API key header"
        OAUTH2_CLIENT_CREDENTIALS = "oauth2_client_credentials", "OAuth2 client credentials"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    host = models.CharField(max_length=255, blank=True, default="")
    port = models.PositiveIntegerField(null=True, blank=True)
    database = models.CharField(
        max_length=500, blank=True, default="", help_text="Database name; for SQLite the file path"
    )
    username = models.CharField(max_length=255, blank=True, default="")
    password_encrypted = models.TextField(blank=True, default="", editable=False)
    options = models.JSONField(
        default=dict, blank=True, help_text="driver, encrypt, trust_server_certificate, schema, …"
    )
    base_url = models.URLField(max_length=500, blank=True, default="")
    auth_type = models.CharField(max_length=32, choices=AuthType.choices, default=AuthType.NONE)
    credentials_encrypted = models.TextField(blank=True, default="", editable=False)
    timeout_seconds = models.PositiveIntegerField(default=15)
    last_tested_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_test_ok = models.BooleanField(null=True, editable=False)
    last_test_message = models.CharField(max_length=500, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("test_connection", "Can test sync connection")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def is_sql(self) -> bool:
        return self.kind != self.Kind.REST


class SyncConfiguration(models.Model):
    """What to move between a connection and the QMS, how, and when. For bidirectional
    configurations "source" is the external system and "target" the QMS."""

    class SystemType(models.TextChoices):
        ERP = "ERP", "ERP"
        MES = "MES", "MES"
        WMS = "WMS", "WMS"
        CRM = "CRM", "CRM"
        PLM = "PLM", "PLM"
        OTHER = "Other", "Other"

    class EntityType(models.TextChoices):
        EQUIPMENT = "equipment", "Equipment"
        SUPPLIERS = "suppliers", "Suppliers"
        ORDERS = "orders", "Orders"
        INVENTORY = "inventory", "Inventory"
        EMPLOYEES = "employees", "Employees"
        CUSTOMERS = "customers", "Customers"
        PRODUCTS = "products", "Products"
        PROCESSES = "processes", "Processes"
        QUALITY_RECORDS = "quality_records", "Quality records"
        INSPECTIONS = "inspections", "Inspections"
        NCR = "ncr", "NCR"
        CAPA = "capa", "CAPA"

    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound (external → QMS)"
        OUTBOUND = "outbound", "Outbound (QMS → external)"
        BIDIRECTIONAL = "bidirectional", "Bidirectional"

    class SyncType(models.TextChoices):
        FULL = "full", "Full"
        DELTA = "delta", "Delta"

    class ConflictStrategy(models.TextChoices):
        LOG = "log", "Log"
        SOURCE_WINS = "source_wins", "Source wins"
        TARGET_WINS = "target_wins", "Target wins"
        MANUAL = "manual", "Manual"
        NEWEST_WINS = "newest_wins", "Newest wins"
        SKIP = "skip", "Skip"

    class ScheduleType(models.TextChoices):
        MANUAL = "manual", "Manual"
        INTERVAL = "interval", "Interval"
        CRON = "cron", "Cron"

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True, default="")
    system_type = models.CharField(max_length=8, choices=SystemType.choices)
    system_name = models.CharField(max_length=100, blank=True, default="")
    connection = models.ForeignKey(
        Connection, on_delete=models.PROTECT, related_name="configurations"
    )
    entity_type = models.CharField(max_length=32, choices=EntityType.choices)
    sync_direction = models.CharField(
        max_length=16, choices=Direction.choices, default=Direction.INBOUND
    )
    sync_type = models.CharField(max_length=8, choices=SyncType.choices, default=SyncType.DELTA)
    remote_object = models.CharField(max_length=300, help_text="[schema.]table or view; REST: path")
    remote_key = models.CharField(max_length=128, help_text="Column holding the external id")
    delta_field = models.CharField(
        max_length=128,
        blank=True,
        default="",
        help_text="Cursor column: timestamp, rowversion or increasing id",
    )
    field_mappings = models.JSONField(default=list)
    conflict_strategy = models.CharField(
        max_length=16, choices=ConflictStrategy.choices, default=ConflictStrategy.LOG
    )
    batch_size = models.PositiveIntegerField(default=100)
    timeout_seconds = models.PositiveIntegerField(default=3600)
    max_retries = models.PositiveIntegerField(default=3)
    schedule_type = models.CharField(
        max_length=8, choices=ScheduleType.choices, default=ScheduleType.MANUAL
    )
    interval_minutes = models.PositiveIntegerField(null=True, blank=True)
    cron_expression = models.CharField(max_length=120, blank=True, default="")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("execute_syncconfiguration", "Can execute sync configuration")]

    def __str__(self) -> str:
        return self.name


class SyncState(models.Model):
    """Where the next delta run of a configuration starts: the (cursor, key) of the last row
    applied, saved in the same transaction as the batch it covers."""

    configuration = models.OneToOneField(
        SyncConfiguration, on_delete=models.CASCADE, related_name="state"
    )
    cursor_value = models.JSONField(null=True, blank=True)
    cursor_key = models.JSONField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.configuration}: {self.cursor_value} / {self.cursor_key}"


class SyncRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        IN_PROGRESS = "in_progress", "In progress"
        SUCCESS = "success", "Success"
        PARTIAL = "partial", "Partial"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        TIMEOUT = "timeout", "Timeout"

    ACTIVE = (Status.QUEUED, Status.IN_PROGRESS)

    configuration = models.ForeignKey(
        SyncConfiguration, on_delete=models.CASCADE, related_name="runs"
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    trigger = models.CharField(max_length=16, default="manual")
    full = models.BooleanField(default=False)
    dry_run = models.BooleanField(default=False)
    attempt = models.PositiveIntegerField(default=1)
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    processed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    conflicted = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]

    def __str__(self) -> str:
        return f"{self.configuration} run {self.pk}: {self.status}"


class SyncRowError(models.Model):
    """A source row that could not be applied; the run goes on without it."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="row_errors")
    external_id = models.CharField(max_length=255)
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.external_id}: {self.message[:60]}"


class SyncRecord(models.Model):
    """The generic record store: synced entities the QMS has no model of its own for."""

    entity_type = models.CharField(max_length=32, db_index=True)
    external_id = models.CharField(max_length=255)
    data = models.JSONField(default=dict)
    data_hash = models.CharField(max_length=64)
    configuration = models.ForeignKey(
        SyncConfiguration, null=True, on_delete=models.SET_NULL, related_name="records"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["entity_type", "external_id"]
        constraints = [
            models.UniqueConstraint(fields=["entity_type", "external_id"], name="uniq_sync_record")
        ]

    def __str__(self) -> str:
        return f"{self.entity_type} {self.external_id}"


class SyncLink(models.Model):
    """Which QMS NCR/CAPA an external id of a configuration became."""

    configuration = models.ForeignKey(
        SyncConfiguration, on_delete=models.CASCADE, related_name="links"
    )
    external_id = models.CharField(max_length=255)
    local_id = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["configuration", "external_id"], name="uniq_sync_link")
        ]

    def __str__(self) -> str:
        return f"{self.external_id} -> {self.local_id}"
