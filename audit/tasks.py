"""Celery entry points of the audit trail."""

from __future__ import annotations

from celery import shared_task

from audit import services


@shared_task(name="audit.seal_events")
def seal_audit_events() -> int:
    """celery-beat, every AUDIT_SEAL_INTERVAL_SECONDS: chain the events committed since."""
    return services.events_seal()
