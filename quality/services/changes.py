"""Applying partial updates to a model instance, shared by the entity services."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models


def apply_changes(
    instance: models.Model, data: Mapping[str, Any], allowed: Iterable[str]
) -> list[str]:
    """Set the allowed fields that differ and return their names (empty: nothing changed).

    Unknown or read-only fields are refused rather than silently ignored.
    """
    allowed = set(allowed)
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in unknown})
    changed = []
    for name, value in data.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed.append(name)
    return changed


def validated_save(instance: models.Model, changed: list[str] | None = None) -> None:
    """full_clean, then save (only the changed fields and updated_at when given)."""
    instance.full_clean()
    if changed is None:
        instance.save()
    else:
        instance.save(update_fields=[*changed, "updated_at"])


def check_status_change(current: str, wanted: str | None, closed: str, label: str) -> None:
    """Only the close action reaches `closed`, and nothing leaves it."""
    if wanted is None or wanted == current:
        return
    if wanted == closed:
        raise ValidationError({"status": f"Use the close action to close a {label}."})
    if current == closed:
        raise ValidationError({"status": f"A closed {label} cannot be reopened."})
