"""CSV export of audit events, streamed (the REST list and the admin share it)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from audit.canonical import EVENT_FIELDS, utc_iso
from audit.models import AuditEvent

COLUMNS = (*EVENT_FIELDS, "sequence", "hash", "previous_hash")
# A cell a spreadsheet would run as a formula (OWASP "CSV injection"): names and values come
# from users and external systems. A leading apostrophe makes it text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def event_row(event: AuditEvent) -> list[str]:
    """One CSV row; `event` comes from selectors.events_with_seal (seal columns annotated)."""
    values = {
        **{name: getattr(event, name) for name in EVENT_FIELDS},
        "occurred_at": utc_iso(event.occurred_at),
        "changes": json.dumps(event.changes, sort_keys=True, ensure_ascii=False),
        "sequence": getattr(event, "seal_sequence", None),
        "hash": getattr(event, "seal_hash", None),
        "previous_hash": getattr(event, "seal_previous_hash", None),
    }
    return [_cell(values[name]) for name in COLUMNS]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for event in events:
        yield writer.writerow(event_row(event))


def csv_response(events: QuerySet[AuditEvent] | list[AuditEvent]) -> StreamingHttpResponse:
    rows = events.iterator(chunk_size=2000) if isinstance(events, QuerySet) else events
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="audit-events-{stamp}.csv"'
    return response
