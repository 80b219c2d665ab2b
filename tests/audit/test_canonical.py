"""The canonical form: an event's time as documented, the canonical JSON, and the link hash as
the SHA-256 of the documented canonical JSON, whatever the event holds."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from audit.canonical import EVENT_FIELDS, GENESIS_HASH, canonical_json, link_hash, utc_iso

ODD_TEXT = [
    "",
    "plain",
    'quote " and backslash \\',
    "control \x00\x01\x1f\x7f tab\t newline\n",
    "Schweißnaht ÄÖÜ 東京 emoji \U0001f600 surrogate-free",
    "\u2028\u2029 separators",
    "</script>",
]
ODD_CHANGES = [
    None,
    {},
    {"b": [1, 2], "a": [None, "x"]},
    {"z": {"nested": {"y": 1, "x": [True, False, None]}}, "Ä": [1.5, -0.0]},
    {"10": [1, 2], "9": [3, 4], "": ["", ""]},
    {"big": [10**30, -(10**30)], "float": [1e-7, 123456789.125]},
    ["a", "list", {"k": "v", "a": 1}],
]


def reference(row: dict, *, sequence: int, previous_hash: str) -> str:
    """Straight from audit.canonical's docstring."""
    event = {name: row[name] for name in EVENT_FIELDS}
    event["occurred_at"] = utc_iso(row["occurred_at"])
    document = {"event": event, "previous_hash": previous_hash, "sequence": sequence, "v": 1}
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def rows():
    moment = datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=UTC)
    for index, (text, changes) in enumerate(
        (text, changes) for text in ODD_TEXT for changes in ODD_CHANGES
    ):
        yield {
            "id": index + 1,
            "occurred_at": (moment + timedelta(microseconds=index // 3)).astimezone(
                timezone(timedelta(hours=index % 5 - 2))
            ),
            "actor_type": "sync_run",
            "actor_id": text,
            "actor_name": text[::-1],
            "channel": "sync",
            "action": "created",
            "object_type": "equipment",
            "object_id": str(index),
            "object_repr": text,
            "changes": changes,
            "reason": text,
            "request_id": "",
            "client_ip": None if index % 2 else "2001:db8::1",
        }


@pytest.mark.parametrize("previous", [GENESIS_HASH, "ab" * 32])
def test_a_link_hash_is_the_sha256_of_the_canonical_json_for_any_text_and_changes(previous):
    for sequence, row in enumerate(rows(), start=1):
        assert link_hash(row, sequence=sequence, previous_hash=previous) == reference(
            row, sequence=sequence, previous_hash=previous
        ), row


MOMENTS = [
    datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=UTC),
    datetime(2026, 3, 1, 9, 30, 0, 0, tzinfo=UTC),  # no microseconds: still six digits
    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
    datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=2))),  # the day before in UTC
    datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


@pytest.mark.parametrize("moment", MOMENTS)
def test_an_events_time_is_written_as_iso_8601_utc_with_microseconds_as_the_chain_has_it(moment):
    assert utc_iso(moment) == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_canonical_json_sorts_keys_at_every_level_without_spaces_and_keeps_non_ascii():
    document = {"b": {"z": 1, "a": [None, "Prüfmittel"]}, "a": True}

    assert canonical_json(document) == '{"a":true,"b":{"a":[null,"Prüfmittel"],"z":1}}'.encode()
