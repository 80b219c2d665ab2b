"""What operators need to know about the service itself: which workers and beats are alive
(their heartbeats), and the alerts sent about things that went wrong."""

from __future__ import annotations

from django.db import models


class Heartbeat(models.Model):
    """The last sign of life of one Celery worker (by node name) or one beat (by host)."""

    class Kind(models.TextChoices):
        WORKER = "worker", "Worker"
        BEAT = "beat", "Beat"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    name = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)
    # Set by a clean shutdown: "stopped", not "gone silent".
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="uniq_heartbeat_kind_name")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


class AlertKind(models.TextChoices):
    """The operational occurrences people are told about (the event types of issue 16)."""

    SUBSCRIPTION_DISABLED = "webhook.subscription.disabled", "Webhook subscription disabled"
    DELIVERY_EXHAUSTED = "webhook.delivery.exhausted", "Webhook delivery gave up"
    SYNC_RUN_FAILED = "sync.run.failed", "Sync run failed"
    SYNC_CONFLICT_PENDING = "sync.conflict.pending", "Sync conflict waits for a person"
    APIKEY_EXPIRING = "apikey.expiring", "API key expiring"


class Alert(models.Model):
    """One occurrence, recorded once (the unique key is what makes it one), then e-mailed."""

    kind = models.CharField(max_length=40, choices=AlertKind.choices, db_index=True)
    target = models.CharField(max_length=100, help_text="app_label.model:pk of the object")
    occurrence = models.CharField(
        max_length=100,
        blank=True,
        default="",
        help_text="What tells this occurrence from earlier ones of the same object",
    )
    subject = models.CharField(max_length=300, help_text="The object, as people name it")
    reason = models.TextField()
    link = models.URLField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    email_claim = models.CharField(max_length=32, blank=True, default="")
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "target", "occurrence"], name="uniq_alert_occurrence"
            )
        ]
        indexes = [models.Index(fields=["emailed_at", "created_at"], name="alert_unsent_idx")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}"
