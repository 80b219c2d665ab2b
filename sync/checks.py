"""System checks of the sync app's settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Warning, register


@register()
def audit_of_sync_records(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    if getattr(settings, "SYNC_AUDIT_RECORDS", True):
        return []
    return [
        Warning(
            "SYNC_AUDIT_RECORDS is off: records that sync runs write in bulk leave no audit "
            "event. Only for measuring what the audit trail costs.",
            id="sync.W001",
        )
    ]
