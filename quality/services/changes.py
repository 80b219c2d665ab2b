"""Applying partial updates to a model instance, shared by the entity services."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


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


def check_status_change(
    instance: models.Model, wanted: str | None, closed: str, label: str
) -> None:
    """Only the close action reaches `closed`, and nothing leaves it."""
    current = instance.status
    if wanted is None or wanted == current:
        return
    if wanted == closed:
        raise ValidationError({"status": f"Close the {label} with the close action."})
    if current == closed:
        raise ValidationError(
            {"status": f"{instance.number} is closed: a closed {label} cannot be reopened."}
        )


def close_once(
    instance: models.Model, data: Mapping[str, Any] | None, editable: Iterable[str], closed: str
) -> None:
    """Close `instance`, applying `data` (other field changes, e.g. from a sync run) in the same
    conditional UPDATE, so of two concurrent closes exactly one succeeds and the caller
    publishes one `*.closed` event with the final values (no `*.updated` before it)."""
    changed = apply_changes(instance, data or {}, [name for name in editable if name != "status"])
    if changed:
        instance.full_clean()
    now = timezone.now()
    done = (
        type(instance)
        .objects.filter(pk=instance.pk)
        .exclude(status=closed)
        .update(
            status=closed,
            closed_at=now,
            updated_at=now,
            **{name: getattr(instance, name) for name in changed},
        )
    )
    if not done:
        raise ValidationError({"status": f"{instance.number} is already closed."})
    instance.refresh_from_db()
