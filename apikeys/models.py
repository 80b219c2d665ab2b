"""API keys for machine clients and their append-only audit trail."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class APIKey(models.Model):
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    key_id = models.CharField(max_length=32, unique=True, help_text="Public lookup id")
    secret_hash = models.CharField(max_length=128, help_text="bcrypt hash of the secret")
    key_preview = models.CharField(max_length=40)
    scopes = models.JSONField(default=list)
    allowed_networks = models.JSONField(
        default=list, blank=True, help_text="IPv4/IPv6 CIDRs; empty means any address"
    )
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    is_active = models.BooleanField(default=True, db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revocation_reason = models.CharField(max_length=255, blank=True, default="")
    rotated_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rotated_to"
    )
    rate_limit_per_minute = models.PositiveIntegerField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    usage_count = models.PositiveBigIntegerField(default=0)
    # Bumped by every change that affects verification, so cached results die everywhere.
    generation = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at", "-id"]
        permissions = [
            ("revoke_apikey", "Can revoke API key"),
            ("rotate_apikey", "Can rotate API key"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_preview})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def state(self) -> str:
        if self.revoked_at or not self.is_active:
            return "revoked"
        if self.is_expired:
            return "expired"
        return "active"


class APIKeyEvent(models.Model):
    """Append-only: rows are written once and never changed or deleted by the application."""

    class Type(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        REVOKED = "revoked", "Revoked"
        ROTATED = "rotated", "Rotated"
        DELETED = "deleted", "Deleted"
        REPEATED_FAILURES = "repeated_failures", "Repeated failures"

    api_key = models.ForeignKey(
        APIKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    key_id = models.CharField(max_length=32, db_index=True)
    event_type = models.CharField(max_length=32, choices=Type.choices, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_repr = models.CharField(max_length=150, blank=True, default="")
    ip = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "API key event"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.key_id} {self.event_type} {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("API key events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("API key events are append-only.")
