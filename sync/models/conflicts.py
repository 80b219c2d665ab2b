"""Records changed on both sides since they were last in step."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from sync.models.configurations import SyncConfiguration
from sync.models.runs import SyncRun


class SyncConflict(models.Model):
    """A record changed at the source (the external system) and at the target (the QMS) since
    the values both last agreed on (`base_values`). Values are keyed by QMS field name.

    `manual` leaves the record alone until someone resolves the conflict; the other strategies
    resolve it at once and keep the row as a record of what was decided (and can be resolved
    again by a person)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RESOLVED = "resolved", "Resolved"
        IGNORED = "ignored", "Ignored"

    class Resolution(models.TextChoices):
        SOURCE_WINS = "source_wins", "Source wins"
        TARGET_WINS = "target_wins", "Target wins"
        CUSTOM_VALUE = "custom_value", "Custom value"
        IGNORED = "ignored", "Ignored"

    configuration = models.ForeignKey(
        SyncConfiguration, on_delete=models.CASCADE, related_name="conflicts"
    )
    run = models.ForeignKey(
        SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="conflicts"
    )
    external_id = models.CharField(max_length=255, db_index=True)
    local_id = models.PositiveBigIntegerField(null=True, blank=True)
    source_values = models.JSONField(default=dict)
    target_values = models.JSONField(default=dict)
    base_values = models.JSONField(null=True, blank=True)
    fields = models.JSONField(default=list, help_text="Fields whose source and target differ")
    source_hash = models.CharField(max_length=64)
    target_hash = models.CharField(max_length=64)
    source_changed_at = models.DateTimeField(null=True, blank=True)
    target_changed_at = models.DateTimeField(null=True, blank=True)
    strategy = models.CharField(max_length=16, choices=SyncConfiguration.ConflictStrategy.choices)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True)
    resolved_value = models.JSONField(null=True, blank=True)
    resolved_automatically = models.BooleanField(default=False)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True, default="")
    detected_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-detected_at", "-id"]
        permissions = [("resolve_syncconflict", "Can resolve sync conflict")]
        constraints = [
            # At most one pending conflict per record: a later run refreshes it.
            models.UniqueConstraint(
                fields=["configuration", "external_id"],
                condition=models.Q(status="pending"),
                name="uniq_pending_sync_conflict",
            )
        ]

    def __str__(self) -> str:
        return f"{self.configuration} {self.external_id}: {self.status}"

    @property
    def resolvable(self) -> bool:
        """Pending, or settled by a strategy's decision (a person may overrule it). One that
        a person decided, or that closed because both sides came back in step, is final: its
        values are old."""
        if self.status == self.Status.PENDING:
            return True
        return (
            self.status == self.Status.RESOLVED
            and self.resolved_automatically
            and bool(self.resolution)
        )
