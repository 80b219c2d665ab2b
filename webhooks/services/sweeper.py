"""The periodic sweep (celery-beat, every WEBHOOK_SWEEP_INTERVAL_SECONDS): hands to Celery the
deliveries that fall due before the next sweep (with a countdown to their due time, so a retry
is sent when its backoff ends, not at the next sweep after it), and replaces the messages that
were lost. Lost tasks delay work; they never lose it.

A delivery whose message is waiting in the broker is never enqueued again while it waits, so a
backlog does not double the work. It counts as waiting from the moment its message is
published (enqueued_at) until a worker claims it (the claim clears enqueued_at). When a due
delivery has waited WEBHOOK_REQUEUE_AFTER_SECONDS, the sweep sends a probe (QueueProbe) down
the same queue; the broker hands a queue's messages out in order, so when a worker has taken
the probe, every delivery still waiting from before it lost its message (broker restarted
without it, a worker killed while holding it) and is enqueued again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from webhooks.models import QueueProbe, WebhookDelivery
from webhooks.services.delivery import due_filter
from webhooks.services.queue import deliveries_enqueue, probe_enqueue

Status = WebhookDelivery.Status


def _when_due(status: str, next_attempt_at: datetime, lease_expires_at: datetime) -> datetime:
    return lease_expires_at if status == Status.DELIVERING else next_attempt_at


def _watermark(now: datetime, margin: timedelta) -> datetime | None:
    """Deliveries enqueued before this had their messages taken by a worker, or lost them:
    the sending time of the latest probe a worker took at least `margin` ago, less `margin`
    (messages published in a transaction carry the stamp of a moment before they left)."""
    probe = QueueProbe.objects.filter(reached_at__lte=now - margin).order_by("-sent_at").first()
    return probe.sent_at - margin if probe else None


def deliveries_due(*, now: datetime) -> dict[int, float]:
    """{id: seconds until due} of the deliveries to enqueue now, marked as enqueued: those due
    before the next sweep that wait in no broker, and those whose message is known lost."""
    interval = timedelta(seconds=settings.WEBHOOK_SWEEP_INTERVAL_SECONDS)
    watermark = _watermark(now, margin=interval)
    wanted = Q(due_filter(now + interval), enqueued_at__isnull=True)  # waiting in no broker
    if watermark is not None:
        wanted |= Q(due_filter(now), enqueued_at__lt=watermark)  # their messages were lost
    rows = list(
        WebhookDelivery.objects.filter(wanted)
        .order_by("next_attempt_at", "id")
        .values_list("id", "status", "next_attempt_at", "lease_expires_at")[
            : settings.WEBHOOK_SWEEP_BATCH_SIZE
        ]
    )
    if rows:
        WebhookDelivery.objects.filter(id__in=[row[0] for row in rows]).update(enqueued_at=now)
    return {
        delivery_id: max((_when_due(*when) - now).total_seconds(), 0.0)
        for delivery_id, *when in rows
    }


def _probe_if_waiting_long(now: datetime) -> bool:
    """Send a probe when due deliveries have waited in the broker for REQUEUE_AFTER seconds
    (not covered by a probe already taken), unless a probe went out within that time."""
    interval = timedelta(seconds=settings.WEBHOOK_SWEEP_INTERVAL_SECONDS)
    waiting_since = now - timedelta(seconds=settings.WEBHOOK_REQUEUE_AFTER_SECONDS)
    waiting = WebhookDelivery.objects.filter(due_filter(now), enqueued_at__lte=waiting_since)
    watermark = _watermark(now, margin=interval)
    if watermark is not None:
        waiting = waiting.filter(enqueued_at__gte=watermark)
    if not waiting.exists() or QueueProbe.objects.filter(sent_at__gt=waiting_since).exists():
        return False
    # Stamped before it is published: everything enqueued before the stamp is ahead of it.
    probe_enqueue(QueueProbe.objects.create(sent_at=timezone.now()).pk)
    return True


def _probes_prune(now: datetime) -> None:
    """Only the latest probe a worker took matters, and one not taken in a day is lost."""
    latest = QueueProbe.objects.filter(reached_at__isnull=False).order_by("-sent_at").first()
    old = Q(sent_at__lt=now - timedelta(days=1))
    if latest is not None:
        old |= Q(sent_at__lt=latest.sent_at, reached_at__isnull=False)
    QueueProbe.objects.filter(old).delete()


def queue_probe_reached(*, probe_id: int) -> None:
    QueueProbe.objects.filter(pk=probe_id, reached_at__isnull=True).update(
        reached_at=timezone.now()
    )


def deliveries_sweep() -> int:
    """Enqueue what falls due before the next sweep and what was lost; returns how many."""
    now = timezone.now()
    sent = deliveries_enqueue(deliveries_due(now=now))
    _probe_if_waiting_long(timezone.now())
    _probes_prune(now)
    return sent
