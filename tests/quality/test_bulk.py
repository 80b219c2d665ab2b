"""Master data written many rows at a time (what sync uses): the same rules as one at a time."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from quality import services
from quality.models import Equipment
from quality.services.bulk import create_many, update_many
from quality.services.master_data import EQUIPMENT_FIELDS

pytestmark = pytest.mark.django_db


def test_two_rows_of_one_batch_renamed_to_the_same_number_keep_it_unique():
    first = services.equipment_create(number="EQ-1", name="One")
    second = services.equipment_create(number="EQ-2", name="Two")
    services.equipment_create(number="EQ-TAKEN", name="Taken")

    results = update_many(
        Equipment,
        EQUIPMENT_FIELDS,
        [
            (first, {"number": "EQ-NEW"}),
            (second, {"number": "EQ-NEW"}),
            (Equipment.objects.get(number="EQ-TAKEN"), {"name": "Still taken"}),
        ],
    )

    assert results[0] == first and results[2].name == "Still taken"
    assert isinstance(results[1], ValidationError) and "number" in results[1].message_dict
    assert sorted(Equipment.objects.values_list("number", flat=True)) == [
        "EQ-2",
        "EQ-NEW",
        "EQ-TAKEN",
    ]


def test_a_row_renamed_to_a_number_already_in_use_is_refused_alone():
    services.equipment_create(number="EQ-1", name="One")
    second = services.equipment_create(number="EQ-2", name="Two")

    [refused] = update_many(Equipment, EQUIPMENT_FIELDS, [(second, {"number": "EQ-1"})])
    [created, duplicate] = create_many(
        Equipment,
        EQUIPMENT_FIELDS,
        [{"number": "EQ-3", "name": "Three"}, {"number": "EQ-3", "name": "Three again"}],
    )

    assert isinstance(refused, ValidationError) and isinstance(duplicate, ValidationError)
    assert created.pk is not None
    assert Equipment.objects.get(pk=second.pk).number == "EQ-2"
    assert Equipment.objects.filter(number="EQ-3").count() == 1
