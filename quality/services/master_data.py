"""Equipment and suppliers: master data that ERP systems own and sync brings in. Each change
writes its audit event in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from quality.models import Equipment, Supplier
from quality.services import trail
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
    trail.record_created(equipment, EQUIPMENT_FIELDS)
    return equipment


@transaction.atomic
def equipment_update(equipment: Equipment, data: Mapping[str, Any]) -> Equipment:
    before = trail.snapshot(equipment, EQUIPMENT_FIELDS)
    changed = apply_changes(equipment, data, EQUIPMENT_FIELDS)
    if changed:
        validated_save(equipment, changed)
        trail.record_updated(equipment, before, EQUIPMENT_FIELDS)
    return equipment


@transaction.atomic
def supplier_create(**data: Any) -> Supplier:
    supplier = Supplier()
    apply_changes(supplier, data, SUPPLIER_FIELDS)
    validated_save(supplier)
    trail.record_created(supplier, SUPPLIER_FIELDS)
    return supplier


@transaction.atomic
def supplier_update(supplier: Supplier, data: Mapping[str, Any]) -> Supplier:
    before = trail.snapshot(supplier, SUPPLIER_FIELDS)
    changed = apply_changes(supplier, data, SUPPLIER_FIELDS)
    if changed:
        validated_save(supplier, changed)
        trail.record_updated(supplier, before, SUPPLIER_FIELDS)
    return supplier
