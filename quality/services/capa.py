"""CAPA lifecycle: create, update, close. Closing is the only way to reach `closed`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from quality.models import CAPA, NCR
from quality.services.changes import (
    apply_changes,
    check_status_change,
    close_once,
    validated_save,
)
from quality.services.events import capa_event_publish
from quality.services.numbering import next_number

CAPA_EDITABLE_FIELDS = (
    "title",
    "description",
    "capa_type",
    "status",
    "ncr",
    "owner",
    "due_date",
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
    capa.number = next_number("CAPA")
    capa.save()
    capa_event_publish(capa=capa, action="created")
    return capa


@transaction.atomic
def capa_update(capa: CAPA, data: Mapping[str, Any]) -> CAPA:
    """Apply the given field values; an update that changes nothing writes nothing."""
    check_status_change(capa.status, data.get("status"), CAPA.Status.CLOSED, "CAPA")
    changed = apply_changes(capa, data, CAPA_EDITABLE_FIELDS)
    if changed:
        validated_save(capa, changed)
        capa_event_publish(capa=capa, action="updated")
    return capa


@transaction.atomic
def capa_close(capa: CAPA, data: Mapping[str, Any] | None = None, *, reason: str = "") -> CAPA:
    """Close it (with `data`, other field changes, in the same UPDATE): one `capa.closed` event."""
    close_once(capa, data, CAPA_EDITABLE_FIELDS, CAPA.Status.CLOSED)
    capa_event_publish(capa=capa, action="closed")
    return capa
