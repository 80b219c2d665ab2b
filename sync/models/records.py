"""What sync remembers between runs: cursors, links between external ids and QMS rows (with
the values last agreed by both sides), and the generic record store."""

from __future__ import annotations

from django.db import models

from sync.models.configurations import SyncConfiguration


class SyncState(models.Model):
    """Where the next delta run of a configuration starts, on each side: the (cursor, key) of
    the last remote row read and the (updated_at, id) of the last QMS row pushed, each saved in
    the same transaction as the batch it covers."""

    configuration = models.OneToOneField(
        SyncConfiguration, on_delete=models.CASCADE, related_name="state"
    )
    cursor_value = models.JSONField(null=True, blank=True)
    cursor_key = models.JSONField(null=True, blank=True)
    local_cursor_value = models.DateTimeField(null=True, blank=True)
    local_cursor_key = models.PositiveBigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.configuration}: {self.cursor_value} / {self.cursor_key}"


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
    """Which QMS row an external id of a configuration is, and the values both sides last
    agreed on (the base of the three-way comparison that tells who changed what)."""

    # No index of its own: uniq_sync_link and sync_link_local both begin with it (one index
    # less to maintain for every link a run writes).
    configuration = models.ForeignKey(
        SyncConfiguration, on_delete=models.CASCADE, related_name="links", db_index=False
    )
    external_id = models.CharField(max_length=255)
    local_id = models.PositiveBigIntegerField()
    base_hash = models.CharField(max_length=64, blank=True, default="")
    base_values = models.JSONField(default=dict, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    # The last full run that read this external id at the source (deletion detection).
    last_seen_run = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["configuration", "external_id"], name="uniq_sync_link")
        ]
        indexes = [models.Index(fields=["configuration", "local_id"], name="sync_link_local")]

    def __str__(self) -> str:
        return f"{self.external_id} -> {self.local_id}"


class SyncRetry(models.Model):
    """A record that failed in a run (refused by a QMS rule or by the external database, or
    malformed); every later run tries it again until it goes through, so a delta cursor that
    moved past it loses nothing."""

    class Side(models.TextChoices):
        INBOUND = "inbound", "Inbound (read from the external system)"
        OUTBOUND = "outbound", "Outbound (written to the external system)"

    configuration = models.ForeignKey(
        SyncConfiguration, on_delete=models.CASCADE, related_name="retries"
    )
    side = models.CharField(max_length=8, choices=Side.choices)
    external_id = models.CharField(max_length=255)
    local_id = models.PositiveBigIntegerField(null=True, blank=True)
    message = models.TextField(blank=True, default="")
    attempts = models.PositiveIntegerField(default=1)
    first_failed_at = models.DateTimeField(auto_now_add=True)
    last_failed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "sync retries"
        constraints = [
            models.UniqueConstraint(
                fields=["configuration", "side", "external_id"], name="uniq_sync_retry"
            )
        ]

    def __str__(self) -> str:
        return f"{self.configuration} {self.side} {self.external_id}"
