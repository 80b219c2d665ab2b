"""Webhook subscriptions, the outbox of events, and one delivery (plus its attempts) per
(event, subscription). The database is the source of truth; Celery only executes."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from webhooks.backoff import schedule_problem, standard_retry_schedule


def validate_retry_schedule(value: Any) -> None:
    if value is not None and (problem := schedule_problem(value)):
        raise ValidationError(problem)


class EventType(models.TextChoices):
    NCR_CREATED = "ncr.created", "NCR created"
    NCR_UPDATED = "ncr.updated", "NCR updated"
    NCR_CLOSED = "ncr.closed", "NCR closed"
    CAPA_CREATED = "capa.created", "CAPA created"
    CAPA_UPDATED = "capa.updated", "CAPA updated"
    CAPA_CLOSED = "capa.closed", "CAPA closed"
    # Operational events (operations/occurrences.py): the same as operations.models.AlertKind.
    SUBSCRIPTION_DISABLED = "webhook.subscription.disabled", "Webhook subscription disabled"
    DELIVERY_EXHAUSTED = "webhook.delivery.exhausted", "Webhook delivery gave up"
    SYNC_RUN_FAILED = "sync.run.failed", "Sync run failed"
    SYNC_CONFLICT_PENDING = "sync.conflict.pending", "Sync conflict waits for a person"
    APIKEY_EXPIRING = "apikey.expiring", "API key expiring"
    TEST = "webhook.test", "Test"


# What a subscription can ask for; webhook.test is sent on request to one subscription only.
SUBSCRIBABLE_EVENTS = tuple(value for value in EventType.values if value != EventType.TEST)
OPERATIONAL_EVENTS = (
    EventType.SUBSCRIPTION_DISABLED,
    EventType.DELIVERY_EXHAUSTED,
    EventType.SYNC_RUN_FAILED,
    EventType.SYNC_CONFLICT_PENDING,
    EventType.APIKEY_EXPIRING,
)


class WebhookSubscription(models.Model):
    name = models.CharField(max_length=200)
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list, help_text="Event types this subscription receives.")
    is_active = models.BooleanField(default=True, db_index=True)
    retry_enabled = models.BooleanField(default=True)
    max_retries = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(0), MaxValueValidator(10)]
    )
    retry_delay_seconds = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(10), MaxValueValidator(3600)]
    )
    # Seconds to wait after each failed attempt (its length is the number of retries). null:
    # max_retries retries after retry_delay_seconds x 2^(n-1), the policy of subscriptions made
    # before schedules existed (migration 0003 left them so).
    retry_schedule = models.JSONField(
        null=True,
        blank=True,
        default=standard_retry_schedule,
        validators=[validate_retry_schedule],
        help_text="Seconds to wait after each failed attempt (±20 %); null: max_retries "
        "retries after retry_delay_seconds doubling each time.",
    )
    # Throttling across all workers (webhooks/services/throttle.py); over a limit deliveries
    # wait a moment, spending no attempt.
    max_deliveries_per_second = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(10000)],
        help_text="Deliveries started per second at most; empty: unlimited.",
    )
    max_in_flight = models.PositiveIntegerField(
        default=50,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="Deliveries being sent at the same time at most.",
    )
    # Encrypted JSON object {name: value}: header values often carry credentials.
    custom_headers_encrypted = models.TextField(blank=True, default="", editable=False)
    secret_encrypted = models.TextField(editable=False)
    # During a rotation's grace period deliveries are signed with both secrets.
    previous_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    # The circuit breaker (webhooks/services/circuit.py): failed attempts since the last
    # success; while open, deliveries wait and one probe is sent at circuit_probe_at.
    failed_attempts_in_row = models.PositiveIntegerField(default=0, editable=False)
    circuit_opened_at = models.DateTimeField(null=True, blank=True, editable=False)
    circuit_probe_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.TextField(blank=True, default="", editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "webhook subscription"

    def __str__(self) -> str:
        return self.name


class WebhookEvent(models.Model):
    """An outbox entry: the exact body every subscription receives for this event."""

    message_id = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=32, choices=EventType.choices, db_index=True)
    payload = models.TextField(help_text="The exact JSON body sent.")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.message_id}"


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # waiting for its first attempt or a retry
        DELIVERING = "delivering", "Delivering"  # claimed by a worker until lease_expires_at
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"  # gave up: retries exhausted, 410, or subscription disabled

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    # Attempts made before the last manual recovery: a recovery grants a fresh retry budget.
    attempts_before_recovery = models.PositiveIntegerField(default=0, editable=False)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True, default="")
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "subscription"], name="uniq_delivery_per_event_subscription"
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
            models.Index(fields=["status", "lease_expires_at"], name="delivery_lease_idx"),
            models.Index(fields=["subscription", "created_at"], name="delivery_sub_created_idx"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status})"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField(db_index=True)
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["delivery_id", "number", "id"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"


class QueueProbe(models.Model):
    """A message sent through the broker behind the delivery messages already there. The
    broker hands messages of a queue out in order, so once a worker has taken a probe every
    delivery message published before it has been taken too: a due delivery enqueued before
    it and still not claimed lost its message (webhooks/services/sweeper.py)."""

    sent_at = models.DateTimeField(db_index=True)
    reached_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return f"queue probe {self.pk} sent {self.sent_at:%H:%M:%S}"
