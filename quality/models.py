"""The QMS entities the integration layer serves: NCR and CAPA (sources of events) and the
master data ERP systems own (equipment, suppliers)."""

from __future__ import annotations

from django.db import models


class NumberSequence(models.Model):
    """Last number handed out per prefix and year (NCR-2026-0001, …); see services.numbering."""

    prefix = models.CharField(max_length=16)
    year = models.PositiveIntegerField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prefix", "year"], name="uniq_number_sequence")
        ]

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}: {self.last_value}"


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        abstract = True


class NCR(TimestampedModel):
    class Severity(models.TextChoices):
        MINOR = "minor", "Minor"
        MAJOR = "major", "Major"
        CRITICAL = "critical", "Critical"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        UNDER_INVESTIGATION = "under_investigation", "Under investigation"
        PENDING_CAPA = "pending_capa", "Pending CAPA"
        CLOSED = "closed", "Closed"

    number = models.CharField(max_length=32, unique=True, editable=False)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MINOR)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.OPEN)
    source = models.CharField(
        max_length=100,
        blank=True,
        default="",
        help_text="Where it was found (line, supplier…)",
    )
    detected_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "NCR"
        verbose_name_plural = "NCRs"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status"], name="quality_ncr_status")]
        permissions = [("close_ncr", "Can close NCR")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class CAPA(TimestampedModel):
    class Type(models.TextChoices):
        CORRECTIVE = "corrective", "Corrective"
        PREVENTIVE = "preventive", "Preventive"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        VERIFICATION = "verification", "Verification"
        CLOSED = "closed", "Closed"

    number = models.CharField(max_length=32, unique=True, editable=False)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    capa_type = models.CharField(
        "CAPA type", max_length=16, choices=Type.choices, default=Type.CORRECTIVE
    )
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.OPEN)
    ncr = models.ForeignKey(
        NCR,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="capas",
        verbose_name="NCR",
    )
    owner = models.CharField(max_length=150, blank=True, default="")
    due_date = models.DateField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "CAPA"
        verbose_name_plural = "CAPAs"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status"], name="quality_capa_status")]
        permissions = [("close_capa", "Can close CAPA")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class Equipment(TimestampedModel):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        MAINTENANCE = "maintenance", "In maintenance"
        OUT_OF_SERVICE = "out_of_service", "Out of service"
        RETIRED = "retired", "Retired"

    number = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=255)
    category = models.CharField(max_length=100, blank=True, default="")
    location = models.CharField(max_length=255, blank=True, default="")
    manufacturer = models.CharField(max_length=255, blank=True, default="")
    model = models.CharField(max_length=255, blank=True, default="")
    serial_number = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.ACTIVE)
    calibration_due_date = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "equipment"
        ordering = ["number"]
        indexes = [models.Index(fields=["status"], name="quality_equipment_status")]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class Supplier(TimestampedModel):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"
        BLOCKED = "blocked", "Blocked"

    class Approval(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        CONDITIONAL = "conditional", "Conditionally approved"
        REJECTED = "rejected", "Rejected"

    number = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=255)
    contact_name = models.CharField(max_length=255, blank=True, default="")
    email = models.EmailField(blank=True, default="")
    phone = models.CharField(max_length=64, blank=True, default="")
    address = models.TextField(blank=True, default="")
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.ACTIVE)
    approval_status = models.CharField(
        max_length=32, choices=Approval.choices, default=Approval.PENDING
    )

    class Meta:
        ordering = ["number"]
        indexes = [
            models.Index(fields=["status"], name="quality_supplier_status"),
            models.Index(fields=["approval_status"], name="quality_supplier_approval"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"
