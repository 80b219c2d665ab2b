"""JSON items as rows and back: dotted field paths, cursor values compared across the types
JSON gives them, and Python values written as JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.utils.dateparse import parse_date, parse_datetime

MISSING: Any = object()
NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


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


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _number(value: Any) -> Decimal | None:
    if _is_number(value):
        return Decimal(str(value))
    if isinstance(value, str) and NUMBER.match(value.strip()):
        return Decimal(value.strip())
    return None


def _moment(value: Any) -> datetime | None:
    """An aware datetime from a datetime, a date or an ISO 8601 string (no offset = UTC)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value.strip())
        day = None if parsed else parse_date(value.strip())
    except ValueError:  # well formed but impossible, such as 2024-02-30
        return None
    if parsed:
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return _moment(day) if day else None


def comparable(a: Any, b: Any) -> tuple[Any, Any]:
    """a and b as values of one type: numbers as numbers (a numeric string next to a number
    too), ISO timestamps as instants, other strings as strings. ValueError otherwise."""
    if _is_number(a) or _is_number(b):
        pair = (_number(a), _number(b))
    else:
        pair = (_moment(a), _moment(b))
        if None in pair and isinstance(a, str) and isinstance(b, str):
            pair = (a, b)
    if pair[0] is None or pair[1] is None:
        raise ValueError(f"{a!r} and {b!r} are not values of one kind")
    return pair


def compare(a: Any, b: Any) -> int:
    x, y = comparable(a, b)
    return (x > y) - (x < y)
