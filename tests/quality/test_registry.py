"""The entity registry: every QMS entity is created, changed and closed through one shape."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from quality import registry
from quality.api import serializers
from quality.models import CAPA, NCR, Equipment, Supplier

pytestmark = pytest.mark.django_db

FIRST_VALUES = {
    "ncr": {"title": "Scratch"},
    "capa": {"title": "Fix the press"},
    "equipment": {"number": "EQ-1", "name": "Press"},
    "suppliers": {"number": "S-1", "name": "Acme"},
}
SECOND_VALUES = {
    "ncr": {"title": "Deep scratch"},
    "capa": {"title": "Fix the press today"},
    "equipment": {"name": "Press 2"},
    "suppliers": {"name": "Acme Ltd"},
}


def test_the_registry_names_the_four_qms_entities_and_the_rest_live_in_the_record_store():
    assert {e.model for e in registry.ENTITIES.values()} == {NCR, CAPA, Equipment, Supplier}
    assert registry.entity_for("orders") is None
    assert registry.entity_of(Supplier).entity_type == "suppliers"
    assert registry.entity_of(Supplier).object_type == "supplier"


@pytest.mark.parametrize("entity_type", sorted(FIRST_VALUES))
def test_every_entity_is_created_and_updated_through_the_same_signature(entity_type):
    entity = registry.entity_for(entity_type)

    obj = entity.create(**FIRST_VALUES[entity_type])
    entity.update(obj, SECOND_VALUES[entity_type])

    stored = entity.model.objects.get(pk=obj.pk)
    for name, value in SECOND_VALUES[entity_type].items():
        assert getattr(stored, name) == value
    assert getattr(stored, entity.number_field)


@pytest.mark.parametrize("entity_type", ["ncr", "capa"])
def test_ncrs_and_capas_close_through_the_registry_and_master_data_retires(entity_type):
    entity = registry.entity_for(entity_type)
    obj = entity.create(**FIRST_VALUES[entity_type])

    closed = entity.close(obj, {"description": "done"}, reason="verified")

    assert entity.is_closed(closed)
    assert entity.model.objects.get(pk=obj.pk).description == "done"
    assert registry.EQUIPMENT_ENTITY.close is None
    assert registry.EQUIPMENT_ENTITY.retired == {"status": "retired"}


def test_an_unknown_field_is_refused_by_every_update():
    for entity_type, values in FIRST_VALUES.items():
        entity = registry.entity_for(entity_type)
        obj = entity.create(**values)
        with pytest.raises(ValidationError):
            entity.update(obj, {"no_such_field": 1})


def test_the_api_shows_the_registry_fields_and_lets_only_the_editable_ones_change():
    for serializer in (serializers.NCRSerializer, serializers.EquipmentSerializer):
        entity = registry.entity_of(serializer.Meta.model)
        writable = {
            name for name, f in serializer().fields.items() if not f.read_only and name != "id"
        }
        assert writable == set(entity.editable_fields)
