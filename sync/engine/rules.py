"""A model's field rules compiled once per configuration, checked on plain values.

`full_clean` per row builds and walks a model instance (most of a batch's validation time).
What it checks for a model without its own `clean()` and without `Meta.constraints` is the
fields' rules: choices, null, blank and the validators (max length, e-mail, ...), each field's
value already of its Python type. `Rules.passes` checks exactly those on a dict of values; a
row it cannot vouch for (a rule broken, or a value of a type it does not know) goes to the
caller's `full_clean`, which gives the reason in the words it always gave (so a bad row still
fails alone, with the same message). Models that do have their own rules get no shortcut.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core import validators
from django.core.exceptions import ValidationError
from django.db import models

# The Python type each field's values must have for the shortcut (else: full_clean decides).
_TYPES: tuple[tuple[type[models.Field], tuple[type, ...]], ...] = (
    (models.DateTimeField, (dt.datetime,)),
    (models.DateField, (dt.date,)),
    (models.BooleanField, (bool,)),
    (models.IntegerField, (int,)),
    (models.DecimalField, (Decimal,)),
    (models.CharField, (str,)),
    (models.TextField, (str,)),
)


class _FieldRule:
    __slots__ = ("blank", "choices", "empty", "max_length", "name", "null", "types", "validators")

    def __init__(self, field: models.Field, types: tuple[type, ...]) -> None:
        self.name = field.name
        self.types = types
        self.null, self.blank = field.null, field.blank
        self.empty = tuple(field.empty_values)
        self.choices = frozenset(value for value, _ in field.flatchoices) if field.choices else None
        self.validators = list(field.validators)
        # A text field's one usual validator (its length) checked inline: calling it was
        # most of the check of a row.
        self.max_length: int | None = None
        if types == (str,) and len(self.validators) == 1 and _is_length(self.validators[0]):
            self.max_length = self.validators[0].limit_value
            self.validators = []

    def passes(self, value: Any) -> bool:
        if value is None:
            return self.null or self.blank  # blank & empty: full_clean skips the field
        if not isinstance(value, self.types) or (
            isinstance(value, dt.datetime) and dt.datetime not in self.types
        ):
            return False
        if value in self.empty:
            return self.blank
        if self.choices is not None and value not in self.choices:
            return False
        if self.max_length is not None and len(value) > self.max_length:
            return False
        try:
            for validator in self.validators:
                validator(value)
        except ValidationError:
            return False
        return True


class Rules:
    """The rules of `model`'s editable fields, or none (`usable` False) when the model has
    rules of its own that only full_clean knows."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self.fields: list[_FieldRule] = []
        self.usable = model.clean is models.Model.clean and not model._meta.constraints
        for field in model._meta.concrete_fields:
            if field.primary_key or not field.editable or field.auto_created:
                continue  # full_clean's clean_fields skips these too (blank=True, or exclude)
            types = next((t for kind, t in _TYPES if isinstance(field, kind)), None)
            if types is None or field.is_relation:
                self.usable = False  # a field kind not covered here: always full_clean
                continue
            self.fields.append(_FieldRule(field, types))
        self.defaults = {
            rule.name: model._meta.get_field(rule.name).get_default() for rule in self.fields
        }
        self.by_name = {rule.name: rule for rule in self.fields}
        # The fields whose default breaks their rule (a required name): a row must give them.
        # The others' defaults pass, whatever the row, so only the values given are checked.
        self.required = frozenset(
            rule.name for rule in self.fields if not rule.passes(self.defaults[rule.name])
        )

    def passes(self, values: Mapping[str, Any]) -> bool:
        """True when full_clean(validate_unique=False) of a row with these values (the
        model's defaults for the fields not given) would pass; False: ask full_clean."""
        if not self.usable or not self.required <= values.keys():
            return False
        rules = self.by_name
        for name, value in values.items():
            rule = rules.get(name)
            if rule is not None and not rule.passes(value):
                return False
        return True


def _is_length(validator: Any) -> bool:
    """Django's own max-length check with a fixed limit (not a subclass, not a callable)."""
    return type(validator) is validators.MaxLengthValidator and type(validator.limit_value) is int


_compiled: dict[type[models.Model], Rules] = {}


def rules_for(model: type[models.Model]) -> Rules:
    if model not in _compiled:
        _compiled[model] = Rules(model)
    return _compiled[model]
