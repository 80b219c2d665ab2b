"""The QMS entity types, declared once: model, editable fields, services, number field.

Read by the admin, the REST API, the sync engine and configuration validation, so a field
added to an entity is added here and nowhere else.

    from quality import registry
    entity = registry.entity_for("suppliers")   # None: the type lives in the record store
    obj = entity.create(number="S-1", name="Acme")         # create(**data)
    obj = entity.update(obj, {"name": "Acme Ltd"})         # update(obj, data)
    obj = entity.close(obj, {"title": "…"}, reason="…")    # NCR and CAPA only; else None
    entity.retired                                          # master data: what retiring sets

Every service has the same shape for every entity, so callers need no adapters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from django.db import models

from quality.models import CAPA, NCR, Equipment, Supplier
from quality.services.capa import CAPA_EDITABLE_FIELDS, capa_close, capa_create, capa_update
from quality.services.master_data import (
    EQUIPMENT_FIELDS,
    SUPPLIER_FIELDS,
    equipment_create,
    equipment_update,
    supplier_create,
    supplier_update,
)
from quality.services.ncr import NCR_EDITABLE_FIELDS, ncr_close, ncr_create, ncr_update

TIMESTAMPS = ("created_at", "updated_at")


@dataclass(frozen=True)
class Entity:
    """One QMS entity type.

    - `entity_type`: its name in sync configurations and API-key scopes ("suppliers");
    - `object_type`: its name in the audit trail ("supplier");
    - `editable_fields`: what create/update accept (and sync may map), in display order;
    - `read_only_fields`: shown but set only by the QMS (a number it hands out, closed_at);
    - `create(**data)`, `update(obj, data)`, `close(obj, data=None, *, reason="")` (None for
      entities that are never closed);
    - `number_field`: the human identifier (the external id of a synced row unless mapped);
    - `numbered_by_qms`: the number is handed out on create, never given;
    - `retired`: the values that retire a row a source deleted (empty: never retired);
    - `closed_status`: the status `close` reaches and nothing leaves (NCR, CAPA)."""

    entity_type: str
    object_type: str
    model: type[models.Model]
    editable_fields: tuple[str, ...]
    create: Callable[..., Any]
    update: Callable[[Any, Mapping[str, Any]], Any]
    close: Callable[..., Any] | None = None
    read_only_fields: tuple[str, ...] = ()
    number_field: str = "number"
    numbered_by_qms: bool = False
    retired: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    closed_status: str | None = None

    @property
    def closable(self) -> bool:
        return self.close is not None

    @property
    def form_fields(self) -> tuple[str, ...]:
        """The admin form's fields: number first, then the editable ones, then the QMS's."""
        leading = () if self.number_field in self.editable_fields else (self.number_field,)
        trailing = tuple(f for f in self.read_only_fields if f != self.number_field)
        return (*leading, *self.editable_fields, *trailing)

    @property
    def api_fields(self) -> tuple[str, ...]:
        """The REST representation: id, the form's fields, timestamps."""
        return ("id", *self.form_fields, *TIMESTAMPS)

    @property
    def api_read_only_fields(self) -> tuple[str, ...]:
        return ("id", *self.read_only_fields, *TIMESTAMPS)

    def is_closed(self, obj: Any) -> bool:
        return self.closed_status is not None and obj.status == self.closed_status


NCR_ENTITY = Entity(
    entity_type="ncr",
    object_type="ncr",
    model=NCR,
    editable_fields=NCR_EDITABLE_FIELDS,
    create=ncr_create,
    update=ncr_update,
    close=ncr_close,
    read_only_fields=("number", "closed_at"),
    numbered_by_qms=True,
    closed_status=NCR.Status.CLOSED,
)
CAPA_ENTITY = Entity(
    entity_type="capa",
    object_type="capa",
    model=CAPA,
    editable_fields=CAPA_EDITABLE_FIELDS,
    create=capa_create,
    update=capa_update,
    close=capa_close,
    read_only_fields=("number", "closed_at"),
    numbered_by_qms=True,
    closed_status=CAPA.Status.CLOSED,
)
EQUIPMENT_ENTITY = Entity(
    entity_type="equipment",
    object_type="equipment",
    model=Equipment,
    editable_fields=EQUIPMENT_FIELDS,
    create=equipment_create,
    update=equipment_update,
    retired=MappingProxyType({"status": Equipment.Status.RETIRED}),
)
SUPPLIER_ENTITY = Entity(
    entity_type="suppliers",
    object_type="supplier",
    model=Supplier,
    editable_fields=SUPPLIER_FIELDS,
    create=supplier_create,
    update=supplier_update,
    retired=MappingProxyType({"status": Supplier.Status.INACTIVE}),
)

ENTITIES: Mapping[str, Entity] = MappingProxyType(
    {e.entity_type: e for e in (EQUIPMENT_ENTITY, SUPPLIER_ENTITY, NCR_ENTITY, CAPA_ENTITY)}
)
_BY_MODEL: Mapping[type[models.Model], Entity] = MappingProxyType(
    {e.model: e for e in ENTITIES.values()}
)


def entity_for(entity_type: str) -> Entity | None:
    """The entity of a sync entity type; None when the type has no QMS model (its rows live
    in the record store)."""
    return ENTITIES.get(entity_type)


def entity_of(model: type[models.Model]) -> Entity:
    """The entity of a QMS model (KeyError for any other model)."""
    return _BY_MODEL[model]
