"""Celery entry points of the operations app: each calls one service."""

from __future__ import annotations

from celery import shared_task

from operations import services


@shared_task(name="operations.send_alert_emails", ignore_result=True)
def send_alert_emails() -> int:
    return services.alerts_email_pending()


@shared_task(name="operations.sweep_alerts", ignore_result=True)
def sweep_alerts() -> dict[str, int]:
    """Periodic (celery-beat, every minute): alert keys about to expire, then send whatever
    alert e-mail is still waiting (a lost message, a mail server that was down)."""
    expiring = services.apikey_expiry_alerts()
    return {"expiring_keys": expiring, "emailed": services.alerts_email_pending()}
