"""Master data created and changed many rows at a time (what sync brings in): the same rules
as one at a time, with one uniqueness query and one INSERT/UPDATE per batch instead of a
few queries per row. A row that breaks a rule is returned as its ValidationError; the others
are written, and their audit events with one INSERT statement per batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone

from eqms_integration.batching import chunked
from quality.services import trail
from quality.services.changes import apply_changes

M = TypeVar("M", bound=models.Model)


def bulk_supported() -> bool:
    """bulk_create must hand back primary keys (PostgreSQL, SQLite, MariaDB, SQL Server)."""
    return connection.features.can_return_rows_from_bulk_insert


def _taken_numbers(model: type[models.Model], numbers: Sequence[str]) -> set[str]:
    taken: set[str] = set()
    for chunk in chunked(numbers):
        taken |= set(model.objects.filter(number__in=chunk).values_list("number", flat=True))
    return taken


def _refuse_taken(model: type[M], results: list[M | ValidationError], objs: list[M]) -> None:
    """Replace by a ValidationError each of `objs` whose number another row has, in the
    database or earlier in this batch: one uniqueness query for the whole batch."""
    taken, seen = _taken_numbers(model, [obj.number for obj in objs]), set()
    refused = set()
    for obj in objs:
        if obj.number in taken or obj.number in seen:
            refused.add(id(obj))
        seen.add(obj.number)
    label = model._meta.verbose_name
    for index, obj in enumerate(results):
        if id(obj) in refused:
            results[index] = ValidationError(
                {"number": f"{label} with this number already exists."}
            )


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
    _refuse_taken(model, results, [obj for obj in results if isinstance(obj, model)])
    created = model.objects.bulk_create([obj for obj in results if isinstance(obj, model)])
    trail.record_many(trail.created_event(obj, allowed) for obj in created)
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
    changes: dict[int, list[str]] = {}
    before: dict[int, dict[str, Any]] = {}
    for obj, data in pairs:
        try:
            before[id(obj)] = trail.snapshot(obj, allowed)
            changed = apply_changes(obj, data, allowed)
            if changed:
                obj.full_clean(validate_unique=False)
        except ValidationError as exc:
            results.append(exc)
            continue
        changes[id(obj)] = changed
        results.append(obj)
    renamed = [obj for obj in results if "number" in changes.get(id(obj), ())]
    _refuse_taken(model, results, renamed)
    for obj in results:
        if not isinstance(obj, ValidationError) and changes[id(obj)]:
            obj.updated_at = now
            groups[tuple(sorted(changes[id(obj)]))].append(obj)
    for fields, objs in groups.items():
        model.objects.bulk_update(objs, [*fields, "updated_at"])
    trail.record_many(
        trail.updated_event(obj, before[id(obj)], allowed)
        for objs in groups.values()
        for obj in objs
    )
    return results
