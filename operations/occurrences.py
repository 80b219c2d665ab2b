"""What the webhook and sync code reports when something goes wrong that a person must know
about: one call at the point of occurrence, deciding whether it is one and alerting once.

These are the occurrences the operational events of issue 16 are about; when those events
exist, they are published from here too, beside the alert."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from eqms_integration.text import counted
from operations.models import AlertKind
from operations.services.alerts import alert_send

FAILED_RUN_STATUSES = ("failed", "timeout")  # sync.models.SyncRun.Status


def subscription_disabled(*, subscription: Any, reason: str) -> None:
    """The service disabled a subscription (410, too many failures): each disabling once."""
    alert_send(
        kind=AlertKind.SUBSCRIPTION_DISABLED, obj=subscription, reason=reason,
        occurrence=timezone.now().isoformat(),
    )  # fmt: skip


def delivery_exhausted(*, delivery: Any, error: str) -> None:
    """A delivery failed its last allowed attempt (a recovery starts a new round)."""
    subscription = delivery.subscription
    attempts = delivery.attempt_count - delivery.attempts_before_recovery
    alert_send(
        kind=AlertKind.DELIVERY_EXHAUSTED, obj=delivery,
        subject=f"{delivery.event.event_type} to {subscription.name} (delivery {delivery.pk})",
        reason=f"Gave up after {counted(attempts, 'attempt')}: {error or 'failed'}",
        occurrence=f"round:{delivery.attempts_before_recovery}",
    )  # fmt: skip


def sync_run_ended(run: Any) -> None:
    """A run ended; alert when it failed (or timed out) and no retry will follow: one alert
    for a run retried three times, when the last attempt fails."""
    config = run.configuration
    if run.status not in FAILED_RUN_STATUSES or run.dry_run:
        return
    if config.enabled and run.attempt <= config.max_retries:
        return  # the sweeper retries it
    alert_send(
        kind=AlertKind.SYNC_RUN_FAILED, obj=run, subject=f"{config.name}, run {run.pk}",
        reason=f"{run.get_status_display()} on attempt {run.attempt} of "
        f"{config.max_retries + 1}; no retry left. {run.error or ''}".strip(),
    )  # fmt: skip


def conflict_pending(conflict: Any) -> None:
    """A new conflict waits for a person (a later run refreshing it is the same one)."""
    fields = ", ".join(conflict.fields) or "values"
    alert_send(
        kind=AlertKind.SYNC_CONFLICT_PENDING, obj=conflict,
        subject=f"{conflict.configuration.name}, record {conflict.external_id}",
        reason=f"Changed on both sides since the last sync ({fields}); resolve it in the admin "
        f"or with POST /api/sync/conflicts/{conflict.pk}/resolve/.",
    )  # fmt: skip
