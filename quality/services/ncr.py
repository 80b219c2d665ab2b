"""NCR lifecycle: create, update, close. Closing is the only way to reach `closed`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from quality.models import NCR
from quality.services.changes import (
    apply_changes,
    check_status_change,
    close_once,
    validated_save,
)
from quality.services.events import ncr_event_publish
from quality.services.numbering import next_number

NCR_EDITABLE_FIELDS = (
    "title",
    "description",
    "severity",
    "status",
    "source",
    "detected_at",
)


@transaction.atomic
def ncr_create(
    *,
    title: str,
    description: str = "",
    severity: str = NCR.Severity.MINOR,
    status: str = NCR.Status.OPEN,
    source: str = "",
    detected_at: datetime | None = None,
) -> NCR:
    if status == NCR.Status.CLOSED:
        raise ValidationError({"status": "An NCR is created open; close it with the close action."})
    ncr = NCR(
        title=title,
        description=description,
        severity=severity,
        status=status,
        source=source,
        detected_at=detected_at,
    )
    ncr.full_clean(exclude=["number"])
    ncr.number = next_number("NCR")
    ncr.save()
    ncr_event_publish(ncr=ncr, action="created")
    return ncr


@transaction.atomic
def ncr_update(ncr: NCR, data: Mapping[str, Any]) -> NCR:
    """Apply the given field values; an update that changes nothing writes nothing."""
    check_status_change(ncr.status, data.get("status"), NCR.Status.CLOSED, "NCR")
    changed = apply_changes(ncr, data, NCR_EDITABLE_FIELDS)
    if changed:
        validated_save(ncr, changed)
        ncr_event_publish(ncr=ncr, action="updated")
    return ncr


@transaction.atomic
def ncr_close(ncr: NCR, data: Mapping[str, Any] | None = None, *, reason: str = "") -> NCR:
    """Close it (with `data`, other field changes, in the same UPDATE): one `ncr.closed` event."""
    close_once(ncr, data, NCR_EDITABLE_FIELDS, NCR.Status.CLOSED)
    ncr_event_publish(ncr=ncr, action="closed")
    return ncr
