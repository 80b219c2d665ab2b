"""What an NCR or CAPA event carries as its `data`: a contract with receivers, versioned and
described by a JSON Schema, built here and not by the API serializers, so a change to the
REST API never changes a signed payload by accident (a change here is a new version).

Pure: no I/O beyond the attributes of the records given (a CAPA reads its NCR's number).
Values are written as the REST API wrote them when version 1 was fixed: date-times in ISO 8601
in the current time zone with `Z` for UTC, dates as YYYY-MM-DD.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from quality.models import CAPA, NCR

VERSION = 1

_DATETIME = {"type": ["string", "null"], "format": "date-time"}
_DATE = {"type": ["string", "null"], "format": "date"}
_TIMESTAMPS = {
    "created_at": {"type": "string", "format": "date-time", "description": "When it was created."},
    "updated_at": {"type": "string", "format": "date-time", "description": "Last change."},
}


def _datetime(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _date(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


NCR_SCHEMA = _object(
    {
        "id": {"type": "integer", "description": "The NCR's id in the REST API."},
        "number": {"type": "string", "description": "e.g. NCR-2026-00042"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "severity": {"enum": list(NCR.Severity.values)},
        "status": {"enum": list(NCR.Status.values)},
        "source": {"type": "string", "description": "Where it was found (line, supplier…)."},
        "detected_at": _DATETIME,
        "closed_at": _DATETIME,
        **_TIMESTAMPS,
    }
)

CAPA_SCHEMA = _object(
    {
        "id": {"type": "integer", "description": "The CAPA's id in the REST API."},
        "number": {"type": "string", "description": "e.g. CAPA-2026-00007"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "capa_type": {"enum": list(CAPA.Type.values)},
        "status": {"enum": list(CAPA.Status.values)},
        "ncr": {"type": ["integer", "null"], "description": "Id of the NCR it answers."},
        "ncr_number": {"type": ["string", "null"], "description": "Number of that NCR."},
        "owner": {"type": "string"},
        "due_date": _DATE,
        "closed_at": _DATETIME,
        **_TIMESTAMPS,
    }
)


def ncr_data(ncr: NCR) -> dict[str, Any]:
    return {
        "id": ncr.pk,
        "number": ncr.number,
        "title": ncr.title,
        "description": ncr.description,
        "severity": ncr.severity,
        "status": ncr.status,
        "source": ncr.source,
        "detected_at": _datetime(ncr.detected_at),
        "closed_at": _datetime(ncr.closed_at),
        "created_at": _datetime(ncr.created_at),
        "updated_at": _datetime(ncr.updated_at),
    }


def capa_data(capa: CAPA) -> dict[str, Any]:
    ncr = capa.ncr if capa.ncr_id else None
    return {
        "id": capa.pk,
        "number": capa.number,
        "title": capa.title,
        "description": capa.description,
        "capa_type": capa.capa_type,
        "status": capa.status,
        "ncr": capa.ncr_id,
        "ncr_number": ncr.number if ncr else None,
        "owner": capa.owner,
        "due_date": _date(capa.due_date),
        "closed_at": _datetime(capa.closed_at),
        "created_at": _datetime(capa.created_at),
        "updated_at": _datetime(capa.updated_at),
    }


NCR_EXAMPLE = {
    "id": 42,
    "number": "NCR-2026-00042",
    "title": "Weld crack on frame 7",
    "description": "Hairline crack found at the visual inspection of lot 2611.",
    "severity": "major",
    "status": "open",
    "source": "Line 3",
    "detected_at": "2026-11-20T07:45:00Z",
    "closed_at": None,
    "created_at": "2026-11-20T08:02:11.204511Z",
    "updated_at": "2026-11-20T08:02:11.204530Z",
}
CAPA_EXAMPLE = {
    "id": 7,
    "number": "CAPA-2026-00007",
    "title": "Requalify the welding procedure",
    "description": "",
    "capa_type": "corrective",
    "status": "open",
    "ncr": 42,
    "ncr_number": "NCR-2026-00042",
    "owner": "QA Hall 3",
    "due_date": "2026-12-15",
    "closed_at": None,
    "created_at": "2026-11-20T09:10:00.118002Z",
    "updated_at": "2026-11-20T09:10:00.118020Z",
}

# (description, data schema, example data) per event type; the verb is the event's action.
EVENTS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "ncr.created": (
        "An NCR was created (REST, admin, or an inbound sync).",
        NCR_SCHEMA,
        NCR_EXAMPLE,
    ),
    "ncr.updated": (
        "An open NCR's fields changed (an update that changes nothing sends "
        "nothing); `data` holds the new values.",
        NCR_SCHEMA,
        {**NCR_EXAMPLE, "status": "under_investigation"},
    ),
    "ncr.closed": (
        "An NCR was closed; `data` holds its values at closing (other changes made "
        "with the closing are in them; no separate ncr.updated is sent).",
        NCR_SCHEMA,
        {**NCR_EXAMPLE, "status": "closed", "closed_at": "2026-11-27T15:30:00Z"},
    ),
    "capa.created": ("A CAPA was created.", CAPA_SCHEMA, CAPA_EXAMPLE),
    "capa.updated": (
        "An open CAPA's fields changed; `data` holds the new values.",
        CAPA_SCHEMA,
        {**CAPA_EXAMPLE, "status": "in_progress"},
    ),
    "capa.closed": (
        "A CAPA was closed; `data` holds its values at closing.",
        CAPA_SCHEMA,
        {**CAPA_EXAMPLE, "status": "closed", "closed_at": "2026-12-10T11:00:00Z"},
    ),
}
