"""Alerts: one row per operational occurrence, e-mailed to ALERT_EMAILS.

`alert_send` is what the places where things go wrong call (a subscription disabled, a
delivery out of retries, a run given up, a conflict left to a person, a key about to expire).
It records the occurrence in the caller's transaction, so a rolled-back change alerts nobody
and a repeated call for the same occurrence records nothing new, and it hands the e-mail to a
worker once the transaction commits. It never raises into its caller: failing to alert must
not fail the work that is being reported on.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, models, transaction
from django.urls import NoReverseMatch, reverse

from eqms_integration.logconfig import redact
from operations.models import Alert

# operations.tasks.send_alert_emails, enqueued by name: tasks import services, never the reverse.
SEND_ALERT_EMAILS_TASK = "operations.send_alert_emails"

logger = logging.getLogger(__name__)

EMAIL_QUEUED_KEY = "operations:alerts:email-queued"
EMAIL_QUEUED_SECONDS = 60  # the sweep sends whatever a lost message left behind


def target_of(obj: models.Model) -> str:
    return f"{obj._meta.label_lower}:{obj.pk}"


def absolute(link: str) -> str:
    return link if "://" in link else settings.EQMS_BASE_URL + "/" + link.lstrip("/")


def admin_link(obj: models.Model) -> str:
    """The object's admin page, absolute (EQMS_BASE_URL)."""
    meta = obj._meta
    try:
        return absolute(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk]))
    except NoReverseMatch:
        return absolute(reverse("admin:index"))


def alert_send(
    *,
    kind: str,
    obj: models.Model,
    reason: str,
    link: str = "",
    occurrence: str = "",
    subject: str = "",
) -> Alert | None:
    """Record one occurrence of `kind` about `obj` and e-mail it after commit.

    `occurrence` tells this occurrence from earlier ones of the same object (an expiry date, a
    recovery round); empty means "once per object". `link` defaults to the object's admin
    page. Returns the new alert, or None when this occurrence was already recorded (or could
    not be recorded: logged, never raised)."""
    try:
        with transaction.atomic():  # a savepoint: a duplicate leaves the caller's work intact
            alert = Alert.objects.create(
                kind=kind,
                target=target_of(obj),
                occurrence=occurrence[:100],
                subject=(subject or str(obj))[:300],
                reason=redact(reason)[:5000],
                link=absolute(link) if link else admin_link(obj),
            )
    except IntegrityError:
        return None
    except Exception:
        logger.exception("could not record the %s alert for %s", kind, target_of(obj))
        return None
    transaction.on_commit(alert_emails_enqueue)
    return alert


def alert_emails_enqueue() -> None:
    """Ask a worker to send what is waiting; one message for a burst of alerts."""
    if not settings.ALERT_EMAILS:
        return
    try:
        if not cache.add(EMAIL_QUEUED_KEY, 1, timeout=EMAIL_QUEUED_SECONDS):
            return  # a message is on its way and will take this alert too
    except Exception:  # the cache is down: one message too many is harmless
        logger.debug("alert e-mail debounce unavailable", exc_info=True)
    try:
        current_app.signature(SEND_ALERT_EMAILS_TASK).apply_async()
    except Exception:  # broker down: the periodic sweep sends it
        logger.warning("could not enqueue the alert e-mail; the sweep will send it")


def alert_emails_dequeued() -> None:
    """Called when a send starts: alerts recorded from now on need a message of their own."""
    try:
        cache.delete(EMAIL_QUEUED_KEY)
    except Exception:
        logger.debug("alert e-mail debounce unavailable", exc_info=True)


def alerts_describe(alerts: list[Alert]) -> dict[str, Any]:
    """Subject and body of the one e-mail that reports these alerts."""
    prefix = settings.EMAIL_SUBJECT_PREFIX
    if len(alerts) == 1:
        alert = alerts[0]
        subject = f"{prefix}{alert.get_kind_display()}: {alert.subject}"
    else:
        counts: dict[str, int] = {}
        for alert in alerts:
            counts[alert.get_kind_display()] = counts.get(alert.get_kind_display(), 0) + 1
        summary = ", ".join(f"{n} x {label}" for label, n in counts.items())
        subject = f"{prefix}{len(alerts)} alerts: {summary}"
    blocks = [
        f"{alert.get_kind_display()}: {alert.subject}\n"
        f"Reason: {alert.reason}\n"
        f"Link: {alert.link}\n"
        f"When: {alert.created_at:%Y-%m-%d %H:%M:%S} UTC"
        for alert in alerts
    ]
    footer = (
        f"\n\n-- \nE-QMS Integration Layer, {settings.EQMS_BASE_URL}/admin/\n"
        "You receive this because your address is in ALERT_EMAILS."
    )
    return {"subject": subject.replace("\n", " ")[:250], "body": "\n\n".join(blocks) + footer}
