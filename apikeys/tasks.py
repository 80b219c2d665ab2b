from __future__ import annotations

from celery import shared_task

from apikeys.services import usage_flush
from eqms_integration.outages import outage_tolerant


@shared_task(name="apikeys.flush_usage", ignore_result=True)
@outage_tolerant  # the counts wait in the cache until the next flush
def flush_api_key_usage() -> int:
    """Periodic (celery-beat): write counted key usage to the database."""
    return usage_flush()
