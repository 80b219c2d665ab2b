"""fast_encode writes exactly what its JSONEncoder writes, and refuses what it refuses."""

from __future__ import annotations

import json
from datetime import date

import pytest

from eqms_integration.json_encoding import fast_encode

ENCODERS = [
    json.JSONEncoder(),
    json.JSONEncoder(sort_keys=True, separators=(",", ":")),
    json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False),
]
VALUES = [
    {},
    [],
    {"b": [1, 2.5, None, True], "a": {"z": 'é ✓ \u0000 "q" \\', "y": -0.0}},
    [{"n": 10**30}, {"nan": float("nan"), "inf": float("-inf")}],
    "text alone é",
    7,
    None,
]


@pytest.mark.parametrize("encoder", ENCODERS)
@pytest.mark.parametrize("value", VALUES)
def test_fast_encode_writes_the_same_text_as_its_encoder(encoder, value):
    assert fast_encode(encoder)(value) == encoder.encode(value)


@pytest.mark.parametrize("encoder", ENCODERS)
def test_fast_encode_refuses_a_value_its_encoder_refuses(encoder):
    with pytest.raises(TypeError):
        fast_encode(encoder)({"when": date(2026, 12, 1)})
