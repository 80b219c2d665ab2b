"""What the OpenAPI schema tells integrators about the quality endpoints (applied to the
viewsets in views.py)."""

from __future__ import annotations

from collections.abc import Callable

from drf_spectacular.utils import OpenApiExample, extend_schema

from eqms_integration.api.schema import ErrorSerializer, documented
from quality.api import serializers

LISTING = (
    "Pages of 50 (`page_size` up to 500; `page=last` for the last). Filter by {filters}, and by "
    "`created_after`, `created_before`, `updated_after`, `updated_before` (ISO 8601, any "
    "offset; after inclusive, before exclusive); `search` looks in {search}; `ordering` takes "
    "{ordering} (prefix `-` for descending). To pick up changes since your last poll: "
    "`?updated_after=<the latest updated_at you saw>&ordering=updated_at`."
)
WRITES = (
    "PUT replaces every editable field (omitted ones take their defaults), PATCH changes only "
    "those sent; an update that changes nothing writes nothing{events}. Unknown or read-only "
    "fields are refused with a 400 naming them."
)

NCR_EXAMPLE = {
    "id": 42,
    "number": "NCR-2026-0042",
    "title": "Scratched housing",
    "description": "Found at final inspection, lot 2026-11-07.",
    "severity": "major",
    "status": "open",
    "source": "Line 3",
    "detected_at": "2026-11-07T09:30:00Z",
    "closed_at": None,
    "created_at": "2026-11-07T09:41:12Z",
    "updated_at": "2026-11-07T09:41:12Z",
}
NCR_CLOSED = {
    **NCR_EXAMPLE,
    "status": "closed",
    "closed_at": "2026-11-20T14:02:00Z",
    "updated_at": "2026-11-20T14:02:00Z",
}
CAPA_EXAMPLE = {
    "id": 7,
    "number": "CAPA-2026-0007",
    "title": "Add a protective film before packing",
    "description": "",
    "capa_type": "corrective",
    "status": "open",
    "ncr": 42,
    "ncr_number": "NCR-2026-0042",
    "owner": "j.meier",
    "due_date": "2026-12-15",
    "closed_at": None,
    "created_at": "2026-11-08T10:00:00Z",
    "updated_at": "2026-11-08T10:00:00Z",
}
ALREADY_CLOSED = OpenApiExample(
    "Closed already",
    value={
        "code": "validation_error",
        "message": "The request has invalid fields.",
        "errors": {"status": ["NCR-2026-0042 is already closed."]},
    },
    response_only=True,
    status_codes=["400"],
)
BAD_FIELD = OpenApiExample(
    "A field is wrong",
    value={
        "code": "validation_error",
        "message": "The request has invalid fields.",
        "errors": {"severity": ['"huge" is not a valid choice.']},
    },
    response_only=True,
    status_codes=["400"],
)


def _answer(name: str, value: dict, status: str = "200") -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, status_codes=[status])


CLOSE_REASON = OpenApiExample(
    "With a reason", request_only=True, value={"reason": "Rework verified by QA"}
)

ncr_docs = documented(
    "NCRs",
    list=extend_schema(
        summary="List NCRs",
        description="Nonconformance reports, newest first. "
        + LISTING.format(
            filters="`number`, `status`, `severity`, `source`",
            search="`number`, `title`, `description`, `source`",
            ordering="`created_at`, `updated_at`, `number`, `severity`, `status`, `detected_at`",
        ),
    ),
    retrieve=extend_schema(
        summary="Read an NCR",
        description="One nonconformance report by id.",
        examples=[_answer("An open NCR", NCR_EXAMPLE)],
    ),
    create=extend_schema(
        summary="Report an NCR",
        description="Creates an NCR. The server assigns `number` (`NCR-<year>-<sequence>`, "
        "unique under concurrent creation); `status` starts `open` unless you give another "
        "non-closed status. Subscribers of `ncr.created` receive it once the change is "
        "committed.",
        examples=[
            OpenApiExample(
                "Found at inspection",
                request_only=True,
                value={
                    "title": "Scratched housing",
                    "severity": "major",
                    "source": "Line 3",
                    "description": "Found at final inspection, lot 2026-11-07.",
                    "detected_at": "2026-11-07T09:30:00Z",
                },
            ),
            _answer("Created", NCR_EXAMPLE, "201"),
            BAD_FIELD,
        ],
    ),
    update=extend_schema(
        summary="Replace an NCR's fields",
        description=WRITES.format(events="; a real change publishes `ncr.updated`")
        + " `closed` is reached only through close, and a closed NCR cannot be reopened or"
        " changed (400 naming it).",
    ),
    partial_update=extend_schema(
        summary="Change an NCR",
        description=WRITES.format(events="; a real change publishes `ncr.updated`")
        + " Setting `status` to `closed` is refused: use close.",
        examples=[
            OpenApiExample(
                "Start the investigation",
                request_only=True,
                value={"status": "under_investigation", "severity": "critical"},
            ),
            _answer(
                "Changed",
                {
                    **NCR_EXAMPLE,
                    "status": "under_investigation",
                    "severity": "critical",
                    "updated_at": "2026-11-09T08:00:00Z",
                },
            ),
        ],
    ),
    close=extend_schema(
        summary="Close an NCR",
        description="Closes the NCR: `status` becomes `closed` and `closed_at` is stamped, "
        "atomically, so of two concurrent closes one wins and the other gets a 400. "
        "Publishes `ncr.closed` (and no `ncr.updated`). A closed NCR stays closed and is "
        "read-only. An optional `reason` is recorded with the close in the audit trail.",
        request=serializers.CloseSerializer,
        responses={200: serializers.NCRSerializer, 400: ErrorSerializer},
        examples=[CLOSE_REASON, _answer("Closed", NCR_CLOSED), ALREADY_CLOSED],
    ),
)

capa_docs = documented(
    "CAPAs",
    list=extend_schema(
        summary="List CAPAs",
        description="Corrective and preventive actions, newest first. "
        + LISTING.format(
            filters="`number`, `status`, `capa_type`, `ncr` (an NCR id), `owner`, "
            "`due_before` (a date, inclusive)",
            search="`number`, `title`, `description`, `owner`",
            ordering="`created_at`, `updated_at`, `number`, `status`, `due_date`",
        ),
    ),
    retrieve=extend_schema(
        summary="Read a CAPA",
        description="One CAPA by id, with the number of the NCR it answers (`ncr_number`, "
        "null without one).",
        examples=[_answer("An open CAPA", CAPA_EXAMPLE)],
    ),
    create=extend_schema(
        summary="Open a CAPA",
        description="Creates a CAPA, optionally for an NCR (`ncr`: its id). The server "
        "assigns `number` (`CAPA-<year>-<sequence>`). Publishes `capa.created`.",
        examples=[
            OpenApiExample(
                "For an NCR",
                request_only=True,
                value={
                    "title": "Add a protective film before packing",
                    "capa_type": "corrective",
                    "ncr": 42,
                    "owner": "j.meier",
                    "due_date": "2026-12-15",
                },
            ),
            _answer("Created", CAPA_EXAMPLE, "201"),
        ],
    ),
    update=extend_schema(
        summary="Replace a CAPA's fields",
        description=WRITES.format(events="; a real change publishes `capa.updated`")
        + " A closed CAPA cannot be reopened or changed (400 naming it), and no CAPA is opened"
        " against a closed NCR.",
    ),
    partial_update=extend_schema(
        summary="Change a CAPA",
        description=WRITES.format(events="; a real change publishes `capa.updated`")
        + " Setting `status` to `closed` is refused: use close.",
        examples=[
            OpenApiExample(
                "Hand it over",
                request_only=True,
                value={"status": "in_progress", "owner": "a.kovac"},
            ),
            _answer("Changed", {**CAPA_EXAMPLE, "status": "in_progress", "owner": "a.kovac"}),
        ],
    ),
    close=extend_schema(
        summary="Close a CAPA",
        description="Closes the CAPA (`status` `closed`, `closed_at` stamped) atomically and "
        "publishes `capa.closed`. A second close is a 400; a closed CAPA is read-only. An "
        "optional `reason` is recorded with the close in the audit trail.",
        request=serializers.CloseSerializer,
        responses={200: serializers.CAPASerializer, 400: ErrorSerializer},
        examples=[
            CLOSE_REASON,
            _answer(
                "Closed", {**CAPA_EXAMPLE, "status": "closed", "closed_at": "2026-12-10T16:00:00Z"}
            ),
            OpenApiExample(
                "Closed already",
                response_only=True,
                status_codes=["400"],
                value={
                    "code": "validation_error",
                    "message": "The request has invalid fields.",
                    "errors": {"status": ["CAPA-2026-0007 is already closed."]},
                },
            ),
        ],
    ),
)


def master_data_docs(
    *, tag: str, one: str, plural: str, filters: str, search: str, ordering: str
) -> Callable[[type], type]:
    """Equipment and suppliers: master data keyed by a `number` the client chooses."""
    return documented(
        tag,
        list=extend_schema(
            summary=f"List {plural}",
            description=f"The {plural}, by number. "
            + LISTING.format(filters=filters, search=search, ordering=ordering),
        ),
        retrieve=extend_schema(summary=f"Read {one}", description=f"Reads {one} by id."),
        create=extend_schema(
            summary=f"Create {one}",
            description="`number` is yours to choose (the key in your system) and must be "
            "unique: a duplicate is a 400 on `number`. Sync configurations that bring "
            f"{plural} in match rows by it.",
        ),
        update=extend_schema(
            summary=f"Replace the fields of {one}", description=WRITES.format(events="")
        ),
        partial_update=extend_schema(summary=f"Change {one}", description=WRITES.format(events="")),
    )


equipment_docs = master_data_docs(
    tag="Equipment",
    one="a piece of equipment",
    plural="equipment",
    filters="`number`, `status`, `category`, `location`, `calibration_due_before` (a date, "
    "inclusive)",
    search="`number`, `name`, `serial_number`, `manufacturer`, `model`, `location`",
    ordering="`number`, `name`, `updated_at`, `calibration_due_date`",
)
supplier_docs = master_data_docs(
    tag="Suppliers",
    one="a supplier",
    plural="suppliers",
    filters="`number`, `status`, `approval_status`",
    search="`number`, `name`, `contact_name`, `email`",
    ordering="`number`, `name`, `updated_at`",
)
