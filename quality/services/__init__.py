"""Every write to the QMS entities goes through these functions."""

from __future__ import annotations

from quality.services.capa import capa_close, capa_create, capa_update
from quality.services.master_data import (
    equipment_create,
    equipment_update,
    supplier_create,
    supplier_update,
)
from quality.services.ncr import ncr_close, ncr_create, ncr_update
from quality.services.numbering import number_reserve

__all__ = [
    "capa_close",
    "capa_create",
    "capa_update",
    "equipment_create",
    "equipment_update",
    "ncr_close",
    "ncr_create",
    "ncr_update",
    "number_reserve",
    "supplier_create",
    "supplier_update",
]
