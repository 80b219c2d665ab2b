"""Sending the alerts waiting for their e-mail: claimed with a conditional UPDATE (so two
workers never send the same alert), all of them in one message (a burst of a thousand failed
deliveries is one e-mail, not a thousand), retried by the periodic sweep when the mail server
refuses, given up after MAX_ATTEMPTS."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import F, Q
from django.utils import timezone

from operations.models import Alert
from operations.services.alerts import alert_emails_dequeued, alerts_describe

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
CLAIM_SECONDS = 300  # a claim older than this belonged to a worker that died mid-send
MAX_PER_MESSAGE = 200
SEND_WINDOW = timedelta(days=1)  # older unsent alerts are not mailed (ALERT_EMAILS set late)


def _claim(now: datetime) -> list[Alert]:
    abandoned = now - timedelta(seconds=CLAIM_SECONDS)
    waiting = Alert.objects.filter(
        Q(email_claimed_at__isnull=True) | Q(email_claimed_at__lt=abandoned),
        emailed_at__isnull=True,
        email_attempts__lt=MAX_ATTEMPTS,
        created_at__gte=now - SEND_WINDOW,
    )
    ids = list(waiting.order_by("created_at", "id").values_list("id", flat=True)[:MAX_PER_MESSAGE])
    if not ids:
        return []
    token = uuid.uuid4().hex
    waiting.filter(pk__in=ids).update(
        email_claimed_at=now, email_claim=token, email_attempts=F("email_attempts") + 1
    )
    return list(Alert.objects.filter(pk__in=ids, email_claim=token).order_by("created_at", "id"))


def alerts_email_pending() -> int:
    """Send every alert waiting for its e-mail; how many were sent."""
    if not settings.ALERT_EMAILS:
        return 0
    alert_emails_dequeued()
    sent = 0
    while alerts := _claim(timezone.now()):
        ids = [alert.pk for alert in alerts]
        message = alerts_describe(alerts)
        try:
            EmailMessage(
                message["subject"],
                message["body"],
                settings.DEFAULT_FROM_EMAIL,
                to=settings.ALERT_EMAILS,
            ).send()
        except Exception as exc:  # the mail server: kept on the alerts, retried by the sweep
            error = f"{type(exc).__name__}: {exc}"[:1000]
            logger.warning("alert e-mail for %d alert(s) not sent: %s", len(ids), error)
            Alert.objects.filter(pk__in=ids).update(email_error=error, email_claimed_at=None)
            return sent
        Alert.objects.filter(pk__in=ids).update(emailed_at=timezone.now(), email_error="")
        sent += len(ids)
    return sent
