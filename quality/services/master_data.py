"""Equipment and suppliers: master data that ERP systems own and sync brings in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from quality.models import Equipment, Supplier
from quality.services.changes import apply_changes, validated_save

EQUIPMENT_FIELDS = (
    "number",
    "name",
    "category",
    "location",
    "manufacturer",
    "model",
    "serial_number",
    "status",
    "calibration_due_date",
)
SUPPLIER_FIELDS = (
    "number",
    "name",
    "contact_name",
    "email",
    "phone",
    "address",
    "status",
    "approval_status",
)


@transaction.atomic
def equipment_create(**data: Any) -> Equipment:
    equipment = Equipment()
    apply_changes(equipment, data, EQUIPMENT_FIELDS)
    validated_save(equipment)
    return equipment


@transaction.atomic
def equipment_update(equipment: Equipment, data: Mapping[str, Any]) -> Equipment:
    changed = apply_changes(equipment, data, EQUIPMENT_FIELDS)
    if changed:
        validated_save(equipment, changed)
    return equipment


@transaction.atomic
def supplier_create(**data: Any) -> Supplier:
    supplier = Supplier()
    apply_changes(supplier, data, SUPPLIER_FIELDS)
    validated_save(supplier)
    return supplier


@transaction.atomic
def supplier_update(supplier: Supplier, data: Mapping[str, Any]) -> Supplier:
    changed = apply_changes(supplier, data, SUPPLIER_FIELDS)
    if changed:
        validated_save(supplier, changed)
    return supplier
