"""Cursor values (timestamps, rowversions, ids): stored as JSON and read back unchanged, and
compared across the types different sources give them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime

NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"bytes": bytes(value).hex()}
    return value


def decode(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    ((kind, text),) = value.items()
    return {
        "datetime": parse_datetime,
        "date": parse_date,
        "decimal": Decimal,
        "bytes": bytes.fromhex,
    }[kind](text)


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
    too), ISO timestamps as instants, rowversions as bytes, other strings as strings.
    ValueError otherwise."""
    binary = bytes | bytearray | memoryview
    if isinstance(a, binary) and isinstance(b, binary):
        return bytes(a), bytes(b)
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


# The keyset window, one rule for every reader (the SQL WHERE of `sql.read`, the REST
# session's filter, the engine's own cursor bookkeeping): a row is in the window
# (after, upper] when its cursor is set, not above `upper`, and (cursor, key) comes after
# `after`: a later cursor, or the same cursor and a later key. A stored cursor without a key
# means every row at that cursor was read already.
Keyset = tuple[Any, Any]  # (cursor value, key value)


def keyset_after(cursor: Any, key: Any, after: Keyset) -> bool:
    """(cursor, key) > after, comparing values of either source type (ValueError when they
    are not values of one kind)."""
    order = compare(cursor, after[0])
    if order == 0:
        return after[1] is not None and compare(key, after[1]) > 0
    return order > 0


def in_window(cursor: Any, key: Any, *, after: Keyset | None, upper: Any | None) -> bool:
    """Whether the row (cursor, key) is in the keyset window (after, upper]; no `after` (or
    no cursor in it): from the beginning; no `upper`: no end."""
    if cursor is None:
        return False
    if upper is not None and compare(cursor, upper) > 0:
        return False
    return after is None or after[0] is None or keyset_after(cursor, key, after)
