"""Master data created and changed many rows at a time (what sync brings in): the same rules
as one at a time, with one uniqueness query and one INSERT/UPDATE per batch instead of a
few queries per row. A row that breaks a rule is returned as its ValidationError; the others
are written."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone

from quality.models import Equipment, Supplier
from quality.services.changes import apply_changes
from quality.services.master_data import EQUIPMENT_FIELDS, SUPPLIER_FIELDS

M = TypeVar("M", bound=models.Model)
IN_CHUNK = 2000  # the QMS may run on SQL Server: at most 2,100 parameters per statement


def bulk_supported() -> bool:
    """bulk_create must hand back primary keys (PostgreSQL, SQLite, MariaDB, SQL Server)."""
    return connection.features.can_return_rows_from_bulk_insert


def _taken_numbers(model: type[models.Model], numbers: Sequence[str]) -> set[str]:
    taken: set[str] = set()
    for start in range(0, len(numbers), IN_CHUNK):
        chunk = numbers[start : start + IN_CHUNK]
        taken |= set(model.objects.filter(number__in=chunk).values_list("number", flat=True))
    return taken


@transaction.atomic
def create_many(
    model: type[M], allowed: Sequence[str], rows: Sequence[dict[str, Any]]
) -> list[M | ValidationError]:
    results: list[M | ValidationError] = []
    for data in rows:
        obj = model()
        try:
            apply_changes(obj, data, allowed)
            obj.full_clean(validate_unique=False)
        except ValidationError as exc:
            results.append(exc)
            continue
        results.append(obj)
    fresh = [obj for obj in results if isinstance(obj, model)]
    taken, seen = _taken_numbers(model, [obj.number for obj in fresh]), set()
    for index, obj in enumerate(results):
        if isinstance(obj, model):
            if obj.number in taken or obj.number in seen:
                label = model._meta.verbose_name
                results[index] = ValidationError(
                    {"number": f"{label} with this number already exists."}
                )
            seen.add(obj.number)
    model.objects.bulk_create([obj for obj in results if isinstance(obj, model)])
    return results


@transaction.atomic
def update_many(
    model: type[M], allowed: Sequence[str], pairs: Sequence[tuple[M, dict[str, Any]]]
) -> list[M | ValidationError]:
    """Rows that change nothing are not written; the others are written grouped by the set
    of fields they change, so no field is written that did not change."""
    results: list[M | ValidationError] = []
    groups: dict[tuple[str, ...], list[M]] = defaultdict(list)
    now = timezone.now()
    for obj, data in pairs:
        try:
            changed = apply_changes(obj, data, allowed)
            if changed:
                obj.full_clean(validate_unique="number" in changed)
        except ValidationError as exc:
            results.append(exc)
            continue
        if changed:
            obj.updated_at = now
            groups[tuple(sorted(changed))].append(obj)
        results.append(obj)
    for fields, objs in groups.items():
        model.objects.bulk_update(objs, [*fields, "updated_at"])
    return results


def equipment_create_many(rows: Sequence[dict[str, Any]]) -> list[Equipment | ValidationError]:
    return create_many(Equipment, EQUIPMENT_FIELDS, rows)


def equipment_update_many(
    pairs: Sequence[tuple[Equipment, dict[str, Any]]],
) -> list[Equipment | ValidationError]:
    return update_many(Equipment, EQUIPMENT_FIELDS, pairs)


def supplier_create_many(rows: Sequence[dict[str, Any]]) -> list[Supplier | ValidationError]:
    return create_many(Supplier, SUPPLIER_FIELDS, rows)


def supplier_update_many(
    pairs: Sequence[tuple[Supplier, dict[str, Any]]],
) -> list[Supplier | ValidationError]:
    return update_many(Supplier, SUPPLIER_FIELDS, pairs)
