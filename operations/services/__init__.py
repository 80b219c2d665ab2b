"""Every write and side effect of the operations app: <noun>_<verb>(*, ...)."""

from __future__ import annotations

from operations.services.alert_email import alerts_email_pending
from operations.services.alerts import admin_link, alert_send
from operations.services.apikey_expiry import apikey_expiry_alerts
from operations.services.heartbeats import heartbeat_record

__all__ = [
    "admin_link",
    "alert_send",
    "alerts_email_pending",
    "apikey_expiry_alerts",
    "heartbeat_record",
]
