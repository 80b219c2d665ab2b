"""CAPA lifecycle: create, update, close. Closing is the only way to reach `closed`, and a
closed CAPA is read-only; none is opened against a closed NCR. Each change writes its audit
event in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from quality.models import CAPA, NCR
from quality.services import trail
from quality.services.changes import (
    apply_changes,
    check_status_change,
    close_once,
    validated_save,
)
from quality.services.events import capa_event_publish
from quality.services.numbering import number_reserve

CAPA_EDITABLE_FIELDS = (
    "title",
    "description",
    "capa_type",
    "status",
    "ncr",
    "owner",
    "due_date",
)
CAPA_AUDITED_FIELDS = ("number", *CAPA_EDITABLE_FIELDS, "closed_at")


def _refuse_closed_ncr(ncr: NCR | None) -> None:
    if ncr is not None and NCR.Status.CLOSED in (ncr.status, trail.status_locked(ncr)):
        raise ValidationError(
            {"ncr": f"{ncr.number} is closed: a CAPA cannot be opened against a closed NCR."}
        )


@transaction.atomic
def capa_create(
    *,
    title: str,
    description: str = "",
    capa_type: str = CAPA.Type.CORRECTIVE,
    status: str = CAPA.Status.OPEN,
    ncr: NCR | None = None,
    owner: str = "",
    due_date: date | None = None,
) -> CAPA:
    if status == CAPA.Status.CLOSED:
        raise ValidationError({"status": "A CAPA is created open; close it with the close action."})
    _refuse_closed_ncr(ncr)
    capa = CAPA(
        title=title,
        description=description,
        capa_type=capa_type,
        status=status,
        ncr=ncr,
        owner=owner,
        due_date=due_date,
    )
    capa.full_clean(exclude=["number"])
    capa.number = number_reserve("CAPA")
    capa.save()
    trail.record_created(capa, CAPA_AUDITED_FIELDS)
    capa_event_publish(capa=capa, action="created")
    return capa


@transaction.atomic
def capa_update(capa: CAPA, data: Mapping[str, Any]) -> CAPA:
    """Apply the given field values; an update that changes nothing writes nothing."""
    check_status_change(capa, data.get("status"), CAPA.Status.CLOSED, "CAPA")
    before = trail.snapshot(capa, CAPA_AUDITED_FIELDS)
    changed = apply_changes(capa, data, CAPA_EDITABLE_FIELDS)
    if changed:
        trail.refuse_closed(capa, CAPA.Status.CLOSED, "CAPA")
        if "ncr" in changed:
            _refuse_closed_ncr(capa.ncr)
        validated_save(capa, changed)
        trail.record_updated(capa, before, CAPA_AUDITED_FIELDS)
        capa_event_publish(capa=capa, action="updated")
    return capa


@transaction.atomic
def capa_close(capa: CAPA, data: Mapping[str, Any] | None = None, *, reason: str = "") -> CAPA:
    """Close it (with `data`, other field changes, in the same UPDATE): one `capa.closed`
    event, one `closed` audit event with every change and the reason (optional)."""
    before = trail.snapshot(capa, CAPA_AUDITED_FIELDS)
    close_once(capa, data, CAPA_EDITABLE_FIELDS, CAPA.Status.CLOSED)
    trail.record_closed(capa, before, CAPA_AUDITED_FIELDS, reason)
    capa_event_publish(capa=capa, action="closed")
    return capa
