"""Human-readable record numbers (NCR-2026-0001) that stay unique under concurrent creation."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from quality.models import NumberSequence


def _increment(prefix: str, year: int) -> int:
    # The UPDATE takes the row lock (PostgreSQL, MySQL, SQL Server) or the write lock (SQLite),
    # so a concurrent creator waits here until this transaction ends and then reads the next value.
    return NumberSequence.objects.filter(prefix=prefix, year=year).update(
        last_value=F("last_value") + 1
    )


def number_reserve(prefix: str) -> str:
    """Reserve the next number for `prefix` in the current year.

    Call it inside the transaction that creates the record: the reservation is released
    with it on rollback, so numbers are not burnt by failed creations.
    """
    year = timezone.localdate().year
    with transaction.atomic():
        if not _increment(prefix, year):
            try:
                with transaction.atomic():
                    NumberSequence.objects.create(prefix=prefix, year=year, last_value=1)
            except IntegrityError:
                # Another transaction created this year's row first; take the next value.
                _increment(prefix, year)
        value = NumberSequence.objects.get(prefix=prefix, year=year).last_value
    return f"{prefix}-{year}-{value:04d}"
