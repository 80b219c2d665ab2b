"""NCR lifecycle: create, update, close. Closing is the only way to reach `closed`, and a
closed NCR is read-only. Each change writes its audit event in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from quality.models import NCR
from quality.services import trail
from quality.services.changes import (
    apply_changes,
    check_status_change,
    close_once,
    validated_save,
)
from quality.services.events import ncr_event_publish
from quality.services.numbering import number_reserve

NCR_EDITABLE_FIELDS = (
    "title",
    "description",
    "severity",
    "status",
    "source",
    "detected_at",
)
NCR_AUDITED_FIELDS = ("number", *NCR_EDITABLE_FIELDS, "closed_at")


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
    ncr.number = number_reserve("NCR")
    ncr.save()
    trail.record_created(ncr, NCR_AUDITED_FIELDS)
    ncr_event_publish(ncr=ncr, action="created")
    return ncr


@transaction.atomic
def ncr_update(ncr: NCR, data: Mapping[str, Any]) -> NCR:
    """Apply the given field values; an update that changes nothing writes nothing."""
    check_status_change(ncr, data.get("status"), NCR.Status.CLOSED, "NCR")
    before = trail.snapshot(ncr, NCR_AUDITED_FIELDS)
    changed = apply_changes(ncr, data, NCR_EDITABLE_FIELDS)
    if changed:
        trail.refuse_closed(ncr, NCR.Status.CLOSED, "NCR")
        validated_save(ncr, changed)
        trail.record_updated(ncr, before, NCR_AUDITED_FIELDS)
        ncr_event_publish(ncr=ncr, action="updated")
    return ncr


@transaction.atomic
def ncr_close(ncr: NCR, data: Mapping[str, Any] | None = None, *, reason: str = "") -> NCR:
    """Close it (with `data`, other field changes, in the same UPDATE): one `ncr.closed` event,
    one `closed` audit event with every change and the reason (optional)."""
    before = trail.snapshot(ncr, NCR_AUDITED_FIELDS)
    close_once(ncr, data, NCR_EDITABLE_FIELDS, NCR.Status.CLOSED)
    trail.record_closed(ncr, before, NCR_AUDITED_FIELDS, reason)
    ncr_event_publish(ncr=ncr, action="closed")
    return ncr
