"""Runs of configurations, and the rows they could not apply."""

from __future__ import annotations

from django.db import models

from sync.models.configurations import SyncConfiguration


class SyncRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        IN_PROGRESS = "in_progress", "In progress"
        SUCCESS = "success", "Success"
        # Everything went through except the records left waiting for a person to resolve
        # their conflicts (manual strategy, or newest_wins without comparable times).
        SUCCESS_WITH_CONFLICTS = "success_with_conflicts", "Success, conflicts waiting"
        PARTIAL = "partial", "Partial"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        TIMEOUT = "timeout", "Timeout"

    ACTIVE = (Status.QUEUED, Status.IN_PROGRESS)
    # Runs that carried out their work (cursors moved, rows applied).
    COMPLETED = (Status.SUCCESS, Status.SUCCESS_WITH_CONFLICTS, Status.PARTIAL)
    # External ids of rows gone at the source kept per run; the count stays exact beyond it.
    MISSING_IDS_KEPT = 1000

    configuration = models.ForeignKey(
        SyncConfiguration, on_delete=models.CASCADE, related_name="runs"
    )
    status = models.CharField(
        max_length=24, choices=Status.choices, default=Status.QUEUED, db_index=True
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
    # Conflicts this run left waiting for a person (a dry run: would have left).
    pending_conflicts = models.PositiveIntegerField(default=0)
    # Full runs only: linked rows no longer at the source (reported; retired when configured).
    missing_at_source = models.PositiveIntegerField(null=True, blank=True)
    missing_at_source_ids = models.JSONField(
        default=list,
        blank=True,
        help_text=f"External ids of the rows gone at the source, sorted, at most "
        f"{MISSING_IDS_KEPT:,} (missing_at_source is the exact count).",
    )
    retired = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Moved on after every batch: a run in progress that stops moving lost its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]

    def __str__(self) -> str:
        return f"{self.configuration} run {self.pk}: {self.get_status_display()}"


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
