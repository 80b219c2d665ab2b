"""Values as the engine compares them.

A row's mapped values are first *typed* by the QMS field they land in (the form the quality
services take), then *normalised* to plain JSON so the same value hashes the same whichever
side it came from: a date from a varchar column and a date from a DateField, a naive timestamp
from a database without time zones and an aware one, all become one text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from eqms_integration.json_encoding import fast_encode
from eqms_integration.storable import UNSTORABLE, unstorable
from quality import registry

_TEXT_FIELDS = (models.CharField, models.TextField)


def typed_values(entity_type: str, values: dict[str, Any]) -> dict[str, Any]:
    """Values converted to the Python types of the entity's fields (raises ValidationError
    naming the value when one cannot be converted). The record store keeps JSON."""
    for name, value in values.items():
        # A remote row the database cannot store fails alone, not the batch it is in.
        if problem := unstorable(value):
            raise ValidationError({name: f"The value holds {problem}, which cannot be stored."})
    entity = registry.entity_for(entity_type)
    if entity is None:
        return normalised(values)
    model = entity.model
    result = {}
    for name, value in values.items():
        field = model._meta.get_field(name)
        value = field.to_python(value)
        if value is None and isinstance(field, _TEXT_FIELDS) and not field.null:
            value = ""  # an external NULL is the QMS's empty text
        if isinstance(value, datetime) and timezone.is_naive(value):
            value = timezone.make_aware(value)
        result[name] = value
    return result


def typed_converter(entity_type: str, names: list[str]) -> Callable[[dict[str, Any]], dict]:
    """`typed_values(entity_type, values)` for values with exactly these names, in this order,
    with the entity and its fields looked up once (the model fields' own `to_python` still
    converts each value, so the result is the same)."""
    entity = registry.entity_for(entity_type)
    if entity is None:
        return lambda values: typed_values(entity_type, values)
    model = entity.model
    fields = []
    for name in names:
        field = model._meta.get_field(name)
        empty_text = isinstance(field, _TEXT_FIELDS) and not field.null
        fields.append((name, field.to_python, empty_text, _already_typed(field)))

    def convert(values: dict[str, Any]) -> dict[str, Any]:
        for name, value in values.items():
            kind = type(value)
            if kind is str:
                if UNSTORABLE.search(value) is None:
                    continue
            elif kind in _STORABLE:
                continue
            if problem := unstorable(value):
                raise ValidationError({name: f"The value holds {problem}, which cannot be stored."})
        result = {}
        for name, to_python, empty_text, typed in fields:
            value = values[name]
            if type(value) is not typed:  # (a value of that type to_python gives back as is)
                value = to_python(value)
            if value is None:
                if empty_text:
                    value = ""  # an external NULL is the QMS's empty text
            elif isinstance(value, datetime) and timezone.is_naive(value):
                value = timezone.make_aware(value)
            result[name] = value
        return result

    return convert


def _already_typed(field: models.Field) -> type | None:
    """The type whose values the field's `to_python` returns unchanged, where that is
    Django's own to_python: text for text fields, a date (not a datetime) for date fields."""
    kind = type(field)
    if isinstance(field, models.CharField) and kind.to_python is models.CharField.to_python:
        return str
    if isinstance(field, models.TextField) and kind.to_python is models.TextField.to_python:
        return str
    if kind is models.DateField:
        return date
    return None


# Values that `unstorable` passes whatever they hold.
_STORABLE = frozenset({int, bool, type(None), date, datetime, Decimal})


def _plain(value: Any) -> Any:
    if isinstance(value, datetime) and timezone.is_aware(value):
        return value.astimezone(UTC)
    return value


def _datetime_text(value: datetime) -> str:
    """DjangoJSONEncoder's form: milliseconds, and Z for UTC."""
    text = value.isoformat()
    if value.microsecond:
        text = text[:23] + text[26:]
    if text.endswith("+00:00"):
        text = text.removesuffix("+00:00") + "Z"
    return text


_AS_IS = (str, bool, int, type(None))


def normalised(values: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe values: dates and times as ISO 8601 (aware ones in UTC), decimals as text.
    The kinds of value sync rows hold are converted directly (what the JSON round trip below
    gives them, a batch's largest share of the engine's own time otherwise); anything else
    (nested JSON, times, durations, floats) takes the round trip."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        kind = type(value)
        if kind in _AS_IS:
            out[name] = value
        elif kind is date:
            out[name] = value.isoformat()
        elif kind is datetime:
            out[name] = _datetime_text(_plain(value))
        elif kind is Decimal:
            out[name] = str(value)
        else:
            return _round_trip(values)
    return out


def _round_trip(values: dict[str, Any]) -> dict[str, Any]:
    plain = {name: _plain(value) for name, value in values.items()}
    return json.loads(json.dumps(plain, cls=DjangoJSONEncoder))


# json.dumps(values, sort_keys=True, separators=(",", ":")), its C encoder made once.
_digest_json = fast_encode(json.JSONEncoder(sort_keys=True, separators=(",", ":")))


def digest(values: dict[str, Any]) -> str:
    """The hash of normalised values; equal values, equal hash."""
    return hashlib.sha256(_digest_json(values).encode()).hexdigest()


def differing_fields(left: dict[str, Any], right: dict[str, Any]) -> list[str]:
    return sorted(name for name in {*left, *right} if left.get(name) != right.get(name))
