"""Applying a mapped source row to the QMS, idempotently, through the quality services (so
NCR/CAPA changes publish the same events as any other change)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from quality import services as quality
from quality.models import CAPA, NCR, Equipment, Supplier
from sync.models import SyncConfiguration, SyncLink, SyncRecord

E = SyncConfiguration.EntityType
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


def values_hash(values: dict[str, Any]) -> str:
    text = json.dumps(values, sort_keys=True, cls=DjangoJSONEncoder)
    return hashlib.sha256(text.encode()).hexdigest()


def _master_data(model: type, create: Any, update: Any, external_id: str, values: dict) -> str:
    number = values.setdefault("number", external_id)
    existing = model.objects.filter(number=number).first()
    if existing is None:
        create(**values)
        return CREATED
    before = existing.updated_at
    after = update(existing, values).updated_at
    return UPDATED if after != before else UNCHANGED


def _linked(config: SyncConfiguration, model: type, create: Any, update: Any, close: Any,
            external_id: str, values: dict) -> str:  # fmt: skip
    closing = values.get("status") == "closed"
    if closing:
        values.pop("status")
    link = SyncLink.objects.filter(configuration=config, external_id=external_id).first()
    record = model.objects.filter(pk=link.local_id).first() if link else None
    if record is None:
        record = create(**values)
        SyncLink.objects.update_or_create(
            configuration=config, external_id=external_id, defaults={"local_id": record.pk}
        )
        outcome = CREATED
    else:
        before = record.updated_at
        record = update(record, values)
        outcome = UPDATED if record.updated_at != before else UNCHANGED
    if closing and record.status != "closed":
        close(record)
        outcome = outcome if outcome == CREATED else UPDATED
    return outcome


def _record(config: SyncConfiguration, external_id: str, values: dict) -> str:
    data = json.loads(json.dumps(values, cls=DjangoJSONEncoder))
    digest = values_hash(data)
    record = SyncRecord.objects.filter(
        entity_type=config.entity_type, external_id=external_id
    ).first()
    if record is None:
        SyncRecord.objects.create(
            entity_type=config.entity_type, external_id=external_id, data=data,
            data_hash=digest, configuration=config,
        )  # fmt: skip
        return CREATED
    if record.data_hash == digest:
        return UNCHANGED
    record.data, record.data_hash, record.configuration = data, digest, config
    record.save(update_fields=["data", "data_hash", "configuration", "updated_at"])
    return UPDATED


def apply_row(config: SyncConfiguration, external_id: str, values: dict[str, Any]) -> str:
    """Create or update the local side of one source row; returns what happened."""
    entity = config.entity_type
    if entity == E.EQUIPMENT:
        return _master_data(
            Equipment, quality.equipment_create,
            lambda obj, data: quality.equipment_update(equipment=obj, data=data),
            external_id, values,
        )  # fmt: skip
    if entity == E.SUPPLIERS:
        return _master_data(
            Supplier, quality.supplier_create,
            lambda obj, data: quality.supplier_update(supplier=obj, data=data),
            external_id, values,
        )  # fmt: skip
    if entity == E.NCR:
        return _linked(
            config, NCR, quality.ncr_create,
            lambda obj, data: quality.ncr_update(ncr=obj, data=data),
            lambda obj: quality.ncr_close(ncr=obj), external_id, values,
        )  # fmt: skip
    if entity == E.CAPA:
        return _linked(
            config, CAPA, quality.capa_create,
            lambda obj, data: quality.capa_update(capa=obj, data=data),
            lambda obj: quality.capa_close(capa=obj), external_id, values,
        )  # fmt: skip
    return _record(config, external_id, values)
