"""JSON items as rows and back: dotted field paths, and Python values written as JSON (cursor
values are compared by sync.connectors.cursors)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

MISSING: Any = object()


def at_path(document: Any, path: str) -> Any:
    """The value at a dotted path ('address.city'); a key that itself contains the dots wins.
    MISSING when there is none; the document itself for an empty path."""
    if not path:
        return document
    if isinstance(document, dict) and path in document:
        return document[path]
    current = document
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return MISSING
        current = current[part]
    return current


def row_of(item: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """A row keyed by the (dotted) names asked for; absent fields are None."""
    row = {}
    for name in names:
        value = at_path(item, name)
        row[name] = None if value is MISSING else value
    return row


def nest(row: dict[str, Any]) -> dict[str, Any]:
    """The JSON object to write: dotted names become nested objects."""
    body: dict[str, Any] = {}
    made: set[int] = set()  # objects built here; a value given as an object is not merged into
    for name, value in row.items():
        *parents, last = name.split(".")
        target = body
        for part in parents:
            if part not in target:
                target[part] = {}
                made.add(id(target[part]))
            elif id(target[part]) not in made:
                raise ValueError(f"field {name!r} collides with field {part!r}")
            target = target[part]
        if last in target:
            raise ValueError(f"field {name!r} collides with another field")
        target[last] = value
    return body


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)  # a string keeps every digit; a JSON number may pass through a float
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"a {type(value).__name__} value cannot be written as JSON")


def to_json(body: Any) -> bytes:
    try:
        return json.dumps(body, default=_json_default, allow_nan=False).encode()
    except ValueError:
        raise ValueError("NaN and infinite numbers cannot be written as JSON") from None


def query_value(value: Any) -> str:
    """A cursor value as a query parameter: ISO 8601 for dates and times."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)
