"""The key format rejects typos and garbage before any database work."""

from __future__ import annotations

import math

import pytest

from apikeys.keyformat import ALPHABET, SECRET_LENGTH, build_key, parse_key, preview


def test_a_generated_key_parses_back_to_its_id_and_secret():
    raw, secret = build_key("AbCdEf123456")

    parsed = parse_key(raw)

    assert raw.startswith("eqms_AbCdEf123456_")
    assert parsed is not None and (parsed.key_id, parsed.secret) == ("AbCdEf123456", secret)


def test_the_secret_carries_at_least_256_bits():
    assert SECRET_LENGTH * math.log2(len(ALPHABET)) >= 256


def test_two_keys_never_share_a_secret():
    secrets = {build_key("AbCdEf123456")[1] for _ in range(200)}

    assert len(secrets) == 200


@pytest.mark.parametrize("position", [5, 20, 40, 60, -1])
def test_a_single_changed_character_fails_the_checksum(position):
    raw, _ = build_key("AbCdEf123456")
    chars = list(raw)
    chars[position] = "A" if chars[position] != "A" else "B"

    assert parse_key("".join(chars)) is None


@pytest.mark.parametrize(
    "garbage",
    ["", "eqms_", "Bearer x", "eqms_short_key", "x" * 67, "eqms_" + "a" * 200, "eqms_ÄÖÜ"],
)
def test_garbage_is_not_a_key(garbage):
    assert parse_key(garbage) is None


def test_the_preview_shows_the_public_part_and_four_last_characters_only():
    raw, secret = build_key("AbCdEf123456")

    shown = preview(raw)

    assert shown == f"eqms_AbCdEf123456…{raw[-4:]}"
    assert secret[:20] not in shown
