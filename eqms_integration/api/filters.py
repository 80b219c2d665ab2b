"""Filter backends of the API: query parameters that are wrong get a 400 naming them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django_filters import rest_framework as drf_filters
from rest_framework import filters
from rest_framework.exceptions import ValidationError


class UTCIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """ISO 8601 date-times, turned into UTC before they reach the database: PostgreSQL refuses
    offsets beyond ±15:59 that Python accepts (`+16:00`), and an instant that lies outside
    years 1 to 9999 once in UTC (`0001-01-01T00:00+10:00`) cannot be stored anywhere."""

    default_error_messages = {
        "out_of_range": "%(value)s lies outside the years 1 to 9999 once converted to UTC."
    }

    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise DjangoValidationError(
                self.error_messages["out_of_range"], code="out_of_range", params={"value": value}
            ) from None


class UTCIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCIsoDateTimeField


class _CaseInsensitiveChoiceField(django_filters.fields.ChoiceField):
    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        return value.lower() if isinstance(value, str) else value


class CaseInsensitiveChoiceFilter(django_filters.ChoiceFilter):
    """A filter on lower-case choices that also takes them in any case (old spellings)."""

    field_class = _CaseInsensitiveChoiceField


class BaseFilterSet(drf_filters.FilterSet):
    """What every filter set of the API builds on (also the generated ones of
    `filterset_fields`): date-time fields filter through UTCIsoDateTimeFilter."""

    FILTER_DEFAULTS = {
        **drf_filters.FilterSet.FILTER_DEFAULTS,
        models.DateTimeField: {"filter_class": UTCIsoDateTimeFilter},
    }


class TimestampFilterSet(BaseFilterSet):
    """`created_after`, `created_before`, `updated_after`, `updated_before` (ISO 8601; after
    is inclusive, before exclusive) for models with created_at and updated_at."""

    created_after = UTCIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UTCIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = UTCIsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated_before = UTCIsoDateTimeFilter(field_name="updated_at", lookup_expr="lt")


class FilterBackend(drf_filters.DjangoFilterBackend):
    filterset_base = BaseFilterSet


class OrderingFilter(filters.OrderingFilter):
    """`?ordering=a,-b`: a field that cannot be ordered by is a 400 listing those that can
    (DRF drops it silently, which hides a typo behind a differently ordered answer)."""

    def remove_invalid_fields(
        self, queryset: models.QuerySet, fields: list[str], view: Any, request: Any
    ) -> list[str]:
        context = {"request": request}
        valid = [item[0] for item in self.get_valid_fields(queryset, view, context)]
        unknown = [term for term in fields if term.removeprefix("-") not in valid]
        if unknown:
            raise ValidationError(
                {
                    self.ordering_param: [
                        f"Cannot order by {unknown[0]!r}. Order by {', '.join(valid)}, "
                        "comma-separated, each prefixed with - for descending."
                    ]
                }
            )
        return fields
