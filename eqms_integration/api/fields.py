"""Serializer fields shared by the apps' APIs."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class CaseInsensitiveChoiceField(serializers.ChoiceField):
    """A choice of lower-case values that also takes them in any case (`"ERP"` → `"erp"`), for
    choices whose values were once spelled otherwise."""

    def to_internal_value(self, data: Any) -> Any:
        return super().to_internal_value(data.lower() if isinstance(data, str) else data)
