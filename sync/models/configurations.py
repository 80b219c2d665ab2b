"""What moves between an external system and the QMS, how, and when."""

from __future__ import annotations

from django.db import models

from sync.models.connections import Connection


class SyncConfiguration(models.Model):
    """What to move between a connection and the QMS, how, and when. For bidirectional
    configurations "source" is the external system and "target" the QMS."""

    class SystemType(models.TextChoices):
        # Lower case like every other choice; the old values ("ERP", "Other", …) are still
        # accepted by the services and the API.
        ERP = "erp", "ERP"
        MES = "mes", "MES"
        WMS = "wms", "WMS"
        CRM = "crm", "CRM"
        PLM = "plm", "PLM"
        OTHER = "other", "Other"

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
    apply_deletions = models.BooleanField(
        default=False,
        help_text="Full inbound runs: retire (equipment, suppliers) or delete (records) what "
        "the source no longer has. Off: only reported.",
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("execute_syncconfiguration", "Can execute sync configuration")]

    def __str__(self) -> str:
        return self.name
