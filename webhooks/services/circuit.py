"""The circuit breaker of a subscription: while its receiver fails every attempt, deliveries
wait instead of each spending an attempt (and, when it comes back, arriving all at once).

After WEBHOOK_CIRCUIT_FAILURES failed attempts in a row the circuit opens. While it is open a
worker that claims a delivery of it gives the claim back (status pending, due at the next
probe time, the attempt not counted), except once per WEBHOOK_CIRCUIT_PROBE_SECONDS: the
worker that moves circuit_probe_at forward with a conditional UPDATE sends one delivery, the
probe. A failed probe leaves the circuit open until the next probe time; the first successful
attempt closes it (attempts.py). Test sends and manual retries are never held back.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F

from webhooks.models import WebhookDelivery, WebhookSubscription

Status = WebhookDelivery.Status


def _probe_interval() -> timedelta:
    return timedelta(seconds=settings.WEBHOOK_CIRCUIT_PROBE_SECONDS)


def circuit_hold_back(
    deliveries: list[WebhookDelivery], token: str, now: datetime
) -> list[WebhookDelivery]:
    """The claimed deliveries to send now; those of open circuits are given back to wait for
    the next probe (one of them is the probe when its time has come)."""
    held: dict[int, list[WebhookDelivery]] = defaultdict(list)
    to_send = []
    for delivery in deliveries:
        if delivery.subscription.circuit_opened_at is None:
            to_send.append(delivery)
        else:
            held[delivery.subscription_id].append(delivery)
    for waiting in held.values():
        subscription = waiting[0].subscription
        probe_at = subscription.circuit_probe_at
        if probe_at is None or probe_at <= now:
            next_probe = now + _probe_interval()
            took_probe = WebhookSubscription.objects.filter(
                pk=subscription.pk, circuit_probe_at=probe_at
            ).update(circuit_probe_at=next_probe)
            if took_probe:
                to_send.append(waiting.pop(0))
            probe_at = next_probe
        _give_back(waiting, token, probe_at)
    return to_send


def _give_back(deliveries: list[WebhookDelivery], token: str, due: datetime) -> None:
    """Pending again, due at `due`, the claim's attempt not counted: no attempt is spent.
    enqueued_at stays empty, so the sweep before `due` sends them."""
    if deliveries:
        WebhookDelivery.objects.filter(
            pk__in=[d.pk for d in deliveries], lease_token=token, status=Status.DELIVERING
        ).update(
            status=Status.PENDING,
            next_attempt_at=due,
            lease_expires_at=None,
            attempt_count=F("attempt_count") - 1,
        )


def circuit_failure(subscription: WebhookSubscription, now: datetime) -> None:
    """A failed attempt: counted, and the circuit opens at the threshold."""
    rows = WebhookSubscription.objects.filter(pk=subscription.pk)
    rows.update(failed_attempts_in_row=F("failed_attempts_in_row") + 1)
    rows.filter(
        circuit_opened_at__isnull=True,
        failed_attempts_in_row__gte=settings.WEBHOOK_CIRCUIT_FAILURES,
    ).update(circuit_opened_at=now, circuit_probe_at=now + _probe_interval())


def circuit_closed_release(subscription: WebhookSubscription, now: datetime) -> list[int]:
    """After the success that closed an open circuit: the deliveries it held back (due by the
    next probe time) are due now; their ids, to be enqueued. Only those were waiting for it,
    so the receiver gets at most one probe interval's worth at once."""
    if subscription.circuit_opened_at is None:
        return []
    held = WebhookDelivery.objects.filter(
        subscription=subscription,
        status=Status.PENDING,
        next_attempt_at__lte=now + _probe_interval(),
        enqueued_at__isnull=True,
    )
    ids = list(held.values_list("id", flat=True))
    WebhookDelivery.objects.filter(pk__in=ids, status=Status.PENDING).update(
        next_attempt_at=now, enqueued_at=now
    )
    return ids


def circuit_is_clear(subscription: WebhookSubscription) -> bool:
    """Nothing to reset after a success (as loaded with the claim)."""
    return not (subscription.failed_attempts_in_row or subscription.circuit_opened_at)


CLOSED = {"failed_attempts_in_row": 0, "circuit_opened_at": None, "circuit_probe_at": None}


def circuit_state(subscription: WebhookSubscription) -> dict[str, object]:
    """For the statistics: `closed` or `open`, since when, the next probe, the failures."""
    return {
        "state": "closed" if subscription.circuit_opened_at is None else "open",
        "opened_at": subscription.circuit_opened_at,
        "next_probe_at": subscription.circuit_probe_at,
        "failed_attempts_in_row": subscription.failed_attempts_in_row,
    }


def circuit_describe(subscription: WebhookSubscription) -> str:
    if subscription.circuit_opened_at is None:
        failures = subscription.failed_attempts_in_row
        return f"closed ({failures} failed attempts in a row)" if failures else "closed"
    return (
        f"open since {subscription.circuit_opened_at:%Y-%m-%d %H:%M:%S} UTC after "
        f"{subscription.failed_attempts_in_row} failed attempts in a row; deliveries wait, "
        f"next probe {subscription.circuit_probe_at:%Y-%m-%d %H:%M:%S} UTC"
    )
