"""Removing old delivery history, keeping the proof of it in the audit trail.

Before deliveries are deleted (pruned, or with their subscription), one audit event per
delivery says which subscription was sent which event (type and webhook-id) and how it ended
(status, attempts, the last HTTP status). They are written in bulk, in the transaction of the
deletion; audit events themselves are never pruned."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit import services as audit
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent

FINISHED = (WebhookDelivery.Status.SUCCEEDED, WebhookDelivery.Status.FAILED)
EVIDENCE_BATCH = 1000
EVIDENCE_FIELDS = (
    "id",
    "status",
    "attempt_count",
    "last_status_code",
    "created_at",
    "completed_at",
    "subscription_id",
    "subscription__name",
    "event__event_type",
    "event__message_id",
)


def _evidence(row: dict, reason: str) -> audit.EventData:
    delivered = row["status"] == WebhookDelivery.Status.SUCCEEDED
    recorded = {
        "subscription_id": row["subscription_id"],
        "event_type": row["event__event_type"],
        "message_id": row["event__message_id"],
        "status": row["status"],
        "attempts": row["attempt_count"],
        "last_status_code": row["last_status_code"],
        "created_at": row["created_at"],
        "completed_at": row["completed_at"],
    }
    return audit.EventData(
        action="delivered" if delivered else "delivery_failed",
        object_type="webhook_delivery",
        object_id=row["id"],
        object_repr=f"{row['event__event_type']} to {row['subscription__name']}",
        changes={name: [None, value] for name, value in recorded.items()},
        reason=reason,
    )


def deliveries_evidence_record(deliveries: QuerySet[WebhookDelivery], *, reason: str) -> int:
    """One audit event per delivery of `deliveries` (call it before deleting them, in the same
    transaction); how many. Batches of EVIDENCE_BATCH, one INSERT statement each."""
    rows = deliveries.order_by("id").values(*EVIDENCE_FIELDS)
    batch: list[audit.EventData] = []
    written = 0
    for row in rows.iterator(chunk_size=EVIDENCE_BATCH):
        batch.append(_evidence(row, reason))
        if len(batch) == EVIDENCE_BATCH:
            written += len(audit.events_record_many(batch))
            batch = []
    if batch:
        written += len(audit.events_record_many(batch))
    return written


@transaction.atomic
def deliveries_prune(*, older_than_days: int, commit: bool) -> dict[str, int]:
    """Delete finished deliveries (and their attempts) created more than N days ago, and events
    left without deliveries. Without `commit` only counts. Pending work is never touched; the
    audit trail keeps the evidence of each delivery deleted."""
    if older_than_days < 1:
        raise ValueError("older_than_days must be at least 1.")
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deliveries = WebhookDelivery.objects.filter(created_at__lt=cutoff, status__in=FINISHED)
    counts = {
        "deliveries": deliveries.count(),
        "attempts": WebhookAttempt.objects.filter(delivery__in=deliveries).count(),
    }
    if commit:
        deliveries_evidence_record(
            deliveries,
            reason=f"Delivery history pruned (older than {older_than_days} days); this event "
            "is its evidence.",
        )
        WebhookAttempt.objects.filter(delivery__in=deliveries).delete()
        deliveries.delete()
    # Deliveries of one event share its created_at, so these events are left with only
    # finished, prunable deliveries (or none once they are deleted).
    orphans = WebhookEvent.objects.filter(created_at__lt=cutoff).exclude(
        deliveries__status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.DELIVERING]
    )
    counts["events"] = orphans.count()
    if commit:
        orphans.delete()
    return counts
