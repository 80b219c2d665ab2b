"""The event catalogue: every event type a subscription can choose, with its description, its
version and the JSON Schema of the whole body a receiver gets (`id`, `event`, `timestamp`,
`data`), as Svix publishes its event types. `GET /api/webhooks/event-types/` serves it; a test
validates every published payload against it.

Pure: the payload contracts themselves live beside the code that builds them
(quality.payloads for NCRs and CAPAs, operations.payloads for the operational events).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from operations import payloads as operational
from quality import payloads as quality
from webhooks.models import SUBSCRIBABLE_EVENTS, EventType

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
EXAMPLE_MESSAGE_ID = "msg_5b0c2f8e9d1a4e7b8c3d6f0a1e2b4c7d"
EXAMPLE_TIMESTAMP = "2026-11-21T03:12:09.512000+00:00"


@dataclass(frozen=True)
class EventTypeSpec:
    name: str
    label: str
    description: str
    version: int
    data_schema: dict[str, Any]
    example_data: dict[str, Any]

    @property
    def schema(self) -> dict[str, Any]:
        """The body as sent: the envelope of every event around this type's `data`."""
        return {
            "$schema": JSON_SCHEMA_DIALECT,
            "title": f"{self.name} (version {self.version})",
            "type": "object",
            "properties": {
                "id": {
                    "type": "string",
                    "pattern": "^msg_[0-9a-f]{32}$",
                    "description": "The message id, also sent as the webhook-id header: the "
                    "same for every retry, so receivers can drop duplicates.",
                },
                "event": {"const": self.name},
                "timestamp": {
                    "type": "string",
                    "format": "date-time",
                    "description": "When the event happened (ISO 8601).",
                },
                "data": self.data_schema,
            },
            "required": ["id", "event", "timestamp", "data"],
            "additionalProperties": False,
        }

    @property
    def example(self) -> dict[str, Any]:
        return {
            "id": EXAMPLE_MESSAGE_ID,
            "event": self.name,
            "timestamp": EXAMPLE_TIMESTAMP,
            "data": self.example_data,
        }


@cache
def event_types() -> tuple[EventTypeSpec, ...]:
    """Every subscribable event type, in the order of EventType."""
    specs = []
    for name in SUBSCRIBABLE_EVENTS:
        if name in quality.EVENTS:
            description, schema, example = quality.EVENTS[name]
            version = quality.VERSION
        else:
            description = operational.DESCRIPTIONS[name]
            schema, example = operational.SCHEMAS[name], operational.EXAMPLES[name]
            version = operational.VERSION
        specs.append(
            EventTypeSpec(
                name=str(name),
                label=str(EventType(name).label),
                description=description,
                version=version,
                data_schema=schema,
                example_data=example,
            )
        )
    return tuple(specs)


def event_type(name: str) -> EventTypeSpec:
    """The spec of `name`; KeyError for a type that is not in the catalogue."""
    for spec in event_types():
        if spec.name == name:
            return spec
    raise KeyError(name)
