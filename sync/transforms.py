"""Value transforms of field mappings: declared as data, validated on save, applied per row.

A mapping's "transform" is a name ("trim"), an object ({"type": "map", "values": {...}}), or a
list of those applied in order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime


class TransformError(ValueError):
    """A value that a transform cannot convert (the row fails, the run goes on)."""


def _text(value: Any, fn: Callable[[str], str]) -> Any:
    return fn(value) if isinstance(value, str) else value


def _map(value: Any, spec: dict) -> Any:
    values = spec["values"]
    key = "" if value is None else str(value)
    if key in values:
        return values[key]
    if "default" in spec:
        return spec["default"]
    raise TransformError(f"{value!r} is not in the value map")


def _date(value: Any, spec: dict) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if hasattr(value, "isoformat"):
        return value
    text = str(value).strip()
    try:
        parsed = (
            datetime.strptime(text, spec["format"]).date() if "format" in spec else parse_date(text)
        )
    except ValueError:
        parsed = None
    if parsed is None:
        raise TransformError(f"{value!r} is not a date")
    return parsed


def _datetime(value: Any, spec: dict) -> Any:
    if value is None or value == "" or isinstance(value, datetime):
        return value or None
    text = str(value).strip()
    try:
        parsed = (
            datetime.strptime(text, spec["format"]) if "format" in spec else parse_datetime(text)
        )
    except ValueError:
        parsed = None
    if parsed is None:
        raise TransformError(f"{value!r} is not a date-time")
    return parsed


def _number(value: Any, spec: dict) -> Any:
    if value is None or value == "":
        return None
    text = str(value).strip().replace(spec.get("thousands_separator", ""), "")
    text = text.replace(spec.get("decimal_separator", "."), ".")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise TransformError(f"{value!r} is not a number") from None


def _default(value: Any, spec: dict) -> Any:
    return spec["value"] if value is None or value == "" else value


# name -> (required parameters, optional parameters, function(value, spec))
TRANSFORMS: dict[str, tuple[tuple[str, ...], tuple[str, ...], Callable[[Any, dict], Any]]] = {
    "trim": ((), (), lambda v, s: _text(v, str.strip)),
    "upper": ((), (), lambda v, s: _text(v, str.upper)),
    "lower": ((), (), lambda v, s: _text(v, str.lower)),
    "map": (("values",), ("default",), _map),
    "date": ((), ("format",), _date),
    "datetime": ((), ("format",), _datetime),
    "number": ((), ("decimal_separator", "thousands_separator"), _number),
    "default": (("value",), (), _default),
}


def normalise(transform: Any) -> list[dict]:
    """The transform as a list of {"type": name, ...} objects; raises ValueError with a
    message naming what is wrong."""
    steps = transform if isinstance(transform, list) else [transform]
    result = []
    for step in steps:
        spec = {"type": step} if isinstance(step, str) else step
        if not isinstance(spec, dict) or spec.get("type") not in TRANSFORMS:
            known = ", ".join(TRANSFORMS)
            raise ValueError(f"unknown transform {step!r}; known: {known}")
        required, optional, _ = TRANSFORMS[spec["type"]]
        missing = [name for name in required if name not in spec]
        extra = set(spec) - {"type", *required, *optional}
        if missing or extra:
            raise ValueError(
                f"transform {spec['type']!r} needs {list(required) or 'no parameters'}"
                f" and accepts {list(optional) or 'nothing else'}"
            )
        if spec["type"] == "map" and not isinstance(spec["values"], dict):
            raise ValueError("transform 'map' needs 'values' as an object")
        result.append(spec)
    return result


def apply(transform: Any, value: Any) -> Any:
    for spec in normalise(transform) if transform else []:
        value = TRANSFORMS[spec["type"]][2](value, spec)
    return value


def compiled(transform: Any) -> list[tuple[Callable[[Any, dict], Any], dict]]:
    """The transform's steps as (function, spec) pairs, validated once: applying them in order
    is `apply(transform, value)` without normalising the transform for every value."""
    steps = normalise(transform) if transform else []
    return [(TRANSFORMS[spec["type"]][2], spec) for spec in steps]


def _unmap(value: Any, spec: dict) -> Any:
    for remote, local in spec["values"].items():
        if local == value:
            return remote
    if "default" in spec and spec["default"] == value:
        return value
    raise TransformError(f"no source value maps to {value!r}")


def _unformat_date(value: Any, spec: dict) -> Any:
    if "format" in spec and hasattr(value, "strftime"):
        return value.strftime(spec["format"])
    return value


def _unformat_number(value: Any, spec: dict) -> Any:
    if value is None or "decimal_separator" not in spec:
        return value
    return str(value).replace(".", spec["decimal_separator"])


# The way back, QMS value -> external value, for outbound writes: a value map is inverted,
# formats are applied in reverse; trim, upper, lower and defaults have no inverse and pass.
REVERSE: dict[str, Callable[[Any, dict], Any]] = {
    "map": _unmap,
    "date": _unformat_date,
    "datetime": _unformat_date,
    "number": _unformat_number,
}


def one_way_problems(mappings: list[dict], direction: str) -> tuple[list[str], list[str]]:
    """(refused, warnings) for the (valid) field mappings of a configuration writing outbound
    or both ways: steps without a way back (trim, upper, lower, default) are skipped on
    outbound writes, so a transform of nothing else does nothing on an outbound configuration
    (refused); on a two-way one it acts on reads only (a warning)."""
    refused: list[str] = []
    warnings: list[str] = []
    if direction == "inbound":
        return refused, warnings
    for index, mapping in enumerate(mappings, start=1):
        steps = normalise(mapping["transform"]) if mapping.get("transform") else []
        one_way = [spec["type"] for spec in steps if spec["type"] not in REVERSE]
        if not one_way:
            continue
        names = ", ".join(repr(name) for name in one_way)
        label = f"#{index} ({mapping['local']} ↔ {mapping['remote']})"
        if direction == "outbound" and len(one_way) == len(steps):
            refused.append(
                f"{label}: {names} does nothing on the way out: outbound runs write the QMS "
                f"value as it is (only {', '.join(map(repr, REVERSE))} are applied in "
                "reverse); remove the transform"
            )
        elif direction == "outbound":
            warnings.append(f"{label}: {names} is skipped on the way out.")
        else:
            warnings.append(
                f"{label}: {names} applies to values read from the external system only; "
                "values written back keep the QMS's form."
            )
    return refused, warnings


def reverse_compiled(transform: Any) -> list[tuple[Callable[[Any, dict], Any], dict]]:
    """The inverse of `transform` as (function, spec) pairs, validated once: applying them in
    order turns a QMS value into the external one (steps with no inverse pass)."""
    steps = reversed(normalise(transform)) if transform else []
    return [(REVERSE[spec["type"]], spec) for spec in steps if spec["type"] in REVERSE]
