"""The audit trail: append-only events, their seals (the hash chain) and the chain's head.

An event is written in the same transaction as the change it records (audit.services). The
sealer (audit.services.sealing) later appends one seal per event, in the order it finds them
committed, under a lock on the single head row; the head keeps the last sequence and hash so a
truncated tail shows. Neither events nor seals are ever changed or deleted: the ORM refuses it
here, the admin and the API offer no way to, and on PostgreSQL a trigger refuses UPDATE and
DELETE (migration 0002). Nothing here points at another table: events outlive what they describe.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import models
from django.utils import timezone

from audit import actors, context

APPEND_ONLY = "The audit trail is append-only: its rows cannot be changed or deleted."


class AppendOnlyError(Exception):
    """Raised on any attempt to change or delete an audit row through the ORM."""


def _refuse(*args: Any, **kwargs: Any) -> NoReturn:
    raise AppendOnlyError(APPEND_ONLY)


class AppendOnlyQuerySet(models.QuerySet):
    """Inserts and reads only: every queryset path that changes or removes rows raises."""

    update = _refuse
    delete = _refuse
    bulk_update = _refuse
    update_or_create = _refuse
    _raw_delete = _refuse

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if kwargs.get("update_conflicts"):
            _refuse()
        return super().bulk_create(objs, *args, **kwargs)


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            _refuse()
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse()


class AuditEvent(AppendOnlyModel):
    # The values are those of audit.actors and audit.context, which validate them.
    class ActorType(models.TextChoices):
        USER = actors.USER, "User"
        API_KEY = actors.API_KEY, "API key"
        SYNC_RUN = actors.SYNC_RUN, "Sync run"
        SYSTEM = actors.SYSTEM, "System"

    class Channel(models.TextChoices):
        ADMIN = context.ADMIN, "Admin"
        API = context.API, "REST API"
        SYNC = context.SYNC, "Sync"
        COMMAND = context.COMMAND, "Command"
        TASK = context.TASK, "Task"

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        CLOSED = "closed", "Closed"
        DELETED = "deleted", "Deleted"
        RETIRED = "retired", "Retired"
        RESOLVED = "resolved", "Resolved"
        SECRET_ROTATED = "secret_rotated", "Secret rotated"
        REVOKED = "revoked", "Revoked"
        ROTATED = "rotated", "Rotated"
        ENABLED = "enabled", "Enabled"
        DISABLED = "disabled", "Disabled"
        STARTED = "started", "Started"
        CANCELLED = "cancelled", "Cancelled"
        RETRIED = "retried", "Retried"
        GROUPS_CHANGED = "groups_changed", "Groups changed"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        REPEATED_FAILURES = "repeated_failures", "Repeated failures"
        # Delivery evidence: which subscription was told of which event, and the outcome, so
        # pruning deliveries keeps the proof.
        DELIVERED = "delivered", "Delivered"
        DELIVERY_FAILED = "delivery_failed", "Delivery failed"

    class ObjectType(models.TextChoices):
        NCR = "ncr", "NCR"
        CAPA = "capa", "CAPA"
        EQUIPMENT = "equipment", "Equipment"
        SUPPLIER = "supplier", "Supplier"
        RECORD = "record", "Record"
        API_KEY = "api_key", "API key"
        WEBHOOK_SUBSCRIPTION = "webhook_subscription", "Webhook subscription"
        WEBHOOK_DELIVERY = "webhook_delivery", "Webhook delivery"
        SYNC_CONNECTION = "sync_connection", "Sync connection"
        SYNC_CONFIGURATION = "sync_configuration", "Sync configuration"
        SYNC_SCHEDULE = "sync_schedule", "Sync schedule"
        SYNC_CONFLICT = "sync_conflict", "Sync conflict"
        SYNC_RUN = "sync_run", "Sync run"
        SYNC_RETRY = "sync_retry", "Sync retry"
        USER = "user", "User"
        GROUP = "group", "Group"
        # celery-beat's rows changed in the admin (eqms_integration.beat_schedules).
        BEAT_INTERVAL = "beat_interval", "Beat interval schedule"
        BEAT_CRONTAB = "beat_crontab", "Beat crontab schedule"
        BEAT_SOLAR = "beat_solar", "Beat solar schedule"
        BEAT_CLOCKED = "beat_clocked", "Beat clocked schedule"
        BEAT_TASK = "beat_task", "Beat periodic task"

    occurred_at = models.DateTimeField(default=timezone.now)
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor_id = models.CharField(max_length=64, blank=True, default="")
    actor_name = models.CharField(max_length=200, blank=True, default="")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    action = models.CharField(max_length=32, choices=Action.choices)
    object_type = models.CharField(max_length=40, choices=ObjectType.choices)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200, blank=True, default="")
    # {field: [old, new]}; secrets appear only as markers (audit.changes).
    changes = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True, default="")
    request_id = models.CharField(max_length=128, blank=True, default="")
    client_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        default_permissions = ("view",)  # nobody adds, changes or deletes events
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_event_object_idx"),
            models.Index(fields=["actor_type", "actor_id"], name="audit_event_actor_idx"),
            models.Index(fields=["occurred_at"], name="audit_event_occurred_idx"),
            models.Index(fields=["action"], name="audit_event_action_idx"),
            models.Index(fields=["channel"], name="audit_event_channel_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.object_type} {self.object_repr or self.object_id} {self.action}"


class AuditSeal(AppendOnlyModel):
    """One link of the chain: `hash` covers the event's canonical content, its sequence and
    the previous link's hash (audit.canonical). `event_id` is a plain column, not a foreign
    key, so a deleted event leaves its seal behind as evidence."""

    sequence = models.PositiveBigIntegerField(primary_key=True)
    event_id = models.BigIntegerField(unique=True)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["sequence"]
        default_permissions = ()

    def __str__(self) -> str:
        return f"seal {self.sequence} of event {self.event_id}"


class AuditChainHead(models.Model):
    """The one mutable row: the sealers' lock, and the end of the chain as last sealed.

    `scan_after_id`: every committed event with a lower or equal id is sealed, so the sealer
    looks for unsealed events above it only (see audit.services.sealing for how it moves)."""

    HEAD_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=HEAD_ID)
    last_sequence = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, blank=True, default="")
    scan_after_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"audit chain head at sequence {self.last_sequence}"
