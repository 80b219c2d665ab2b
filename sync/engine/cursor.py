"""Cursor values (timestamps, rowversions, ids) stored as JSON and read back unchanged."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime


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
