"""Field-mapping transforms: validated as data, applied per value."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from sync import transforms


@pytest.mark.parametrize(
    ("transform", "value", "expected"),
    [
        ("trim", "  Caliper ", "Caliper"),
        (["trim", "upper"], " eq-1 ", "EQ-1"),
        ("lower", "ACTIVE", "active"),
        ({"type": "map", "values": {"A": "active", "X": "retired"}}, "X", "retired"),
        ({"type": "map", "values": {"A": "active"}, "default": "inactive"}, "Z", "inactive"),
        ({"type": "date", "format": "%d.%m.%Y"}, "31.01.2027", date(2027, 1, 31)),
        ("date", "2027-01-31", date(2027, 1, 31)),
        ("date", datetime(2027, 1, 31, 8, 0), date(2027, 1, 31)),
        ("datetime", "2027-01-31T08:15:00", datetime(2027, 1, 31, 8, 15)),
        (
            {"type": "number", "decimal_separator": ",", "thousands_separator": "."},
            "1.234,5",
            Decimal("1234.5"),
        ),
        ({"type": "default", "value": "unknown"}, None, "unknown"),
        ({"type": "default", "value": "unknown"}, "kept", "kept"),
        (None, 42, 42),
    ],
)
def test_transforms_convert_values(transform, value, expected):
    assert transforms.apply(transform, value) == expected


@pytest.mark.parametrize(
    ("transform", "value"),
    [
        ({"type": "map", "values": {"A": "active"}}, "Z"),
        ("date", "31/31/2027"),
        ("number", "twelve"),
        ({"type": "datetime", "format": "%Y"}, "not a year"),
    ],
)
def test_a_value_a_transform_cannot_convert_is_a_transform_error(transform, value):
    with pytest.raises(transforms.TransformError):
        transforms.apply(transform, value)


@pytest.mark.parametrize(
    ("transform", "message"),
    [
        ("titlecase", "unknown transform"),
        ({"type": "map"}, r"needs \['values'\]"),
        ({"type": "trim", "chars": "x"}, "accepts nothing else"),
        ({"type": "map", "values": ["a"]}, "'values' as an object"),
        (7, "unknown transform"),
    ],
)
def test_malformed_transforms_are_refused_with_a_reason(transform, message):
    with pytest.raises(ValueError, match=message):
        transforms.normalise(transform)


OUTBOUND_MAPPINGS = [
    {"local": "name", "remote": "description", "transform": ["trim", "upper"]},
    {
        "local": "status",
        "remote": "status_code",
        "transform": {"type": "map", "values": {"A": "active"}},
    },
    {"local": "due", "remote": "due_text", "transform": {"type": "date", "format": "%d.%m.%Y"}},
    {"local": "qty", "remote": "amount", "transform": {"type": "number", "decimal_separator": ","}},
    {"local": "note", "remote": "remark"},
]


@pytest.mark.parametrize(
    "values",
    [
        {"name": "Caliper", "status": "active", "due": date(2027, 1, 31), "qty": Decimal("1.5")},
        {"name": None, "status": "active", "due": None, "qty": None, "note": "kept"},
        {"status": "retired"},  # no source value maps to it
    ],
)
def test_a_batchs_compiled_unmapper_writes_the_same_row_and_errors_as_unmap(values):
    from sync.engine.mapping import row_unmapper, unmap
    from sync.models import SyncConfiguration

    config = SyncConfiguration(field_mappings=OUTBOUND_MAPPINGS, remote_key="equipment_no")
    unmapped = row_unmapper(config)

    try:
        expected = unmap(config, "EQ-1", values)
    except transforms.TransformError as exc:
        with pytest.raises(transforms.TransformError, match=str(exc)):
            unmapped("EQ-1", values)
    else:
        assert unmapped("EQ-1", values) == expected
        assert list(unmapped("EQ-1", values)) == list(expected)  # columns in the same order


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"name": "Gauge 1", "status": "active", "calibration_due_date": "2027-01-02"},
        {"b": 1, "a": [1, 2.5, None, True], "c": {"z": "é ✓", "y": "\u0000"}},
        {"nan": float("nan"), "inf": float("inf"), "big": 10**30, "neg": -0.0},
    ],
)
def test_a_records_digest_is_the_sha256_of_its_sorted_compact_json(values):
    import hashlib
    import json

    from sync.engine.values import digest

    text = json.dumps(values, sort_keys=True, separators=(",", ":"))
    assert digest(values) == hashlib.sha256(text.encode()).hexdigest()
