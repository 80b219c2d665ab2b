"""The canonical form: an event's time as documented, the canonical JSON, and the link hash as
the SHA-256 of the documented canonical JSON, whatever the event holds."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from audit.canonical import (
    EVENT_FIELDS,
    GENESIS_HASH,
    canonical_json,
    link_hash,
    link_hashes,
    link_hashes_at,
    utc_iso,
)

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


def test_hashing_a_batch_gives_each_links_hash_after_the_one_before_as_one_at_a_time():
    events = list(rows())
    # Shared values that are equal as keys but written differently must not share a text.
    events += [{**events[0], "id": 900 + n, "reason": value} for n, value in enumerate((1, True))]
    expected, previous = [], "ab" * 32
    for sequence, row in enumerate(events, start=8):
        previous = reference(row, sequence=sequence, previous_hash=previous)
        expected.append(previous)

    hashes = link_hashes(
        [tuple(row[name] for name in EVENT_FIELDS) for row in events],
        sequence=7,
        previous_hash="ab" * 32,
    )

    assert hashes == expected


def test_a_batch_read_as_text_hashes_as_the_values_that_text_stands_for():
    events = list(rows())
    as_text = [
        (row["id"], row["occurred_at"].isoformat(), *[row[n] for n in EVENT_FIELDS[2:]])
        for row in events
    ]
    as_text = [(*event[:10], json.dumps(event[10]), *event[11:]) for event in as_text]

    hashes = link_hashes(
        as_text,
        sequence=0,
        previous_hash=GENESIS_HASH,
        moment=lambda text: utc_iso(datetime.fromisoformat(text)),
        changes=json.loads,
    )

    assert hashes == link_hashes(
        [tuple(row[name] for name in EVENT_FIELDS) for row in events],
        sequence=0,
        previous_hash=GENESIS_HASH,
    )


# A pair of links as audit.canonical wrote them before the sealer hashed a batch at a time
# (main at 91b9df5): the form is v1, so these never change.
GOLDEN = {
    "id": 4711,
    "occurred_at": datetime(2026, 3, 1, 10, 30, 0, 123456, tzinfo=timezone(timedelta(hours=1))),
    "actor_type": "sync_run",
    "actor_id": "7",
    "actor_name": "ERP équipement (run 7)",
    "channel": "sync",
    "action": "updated",
    "object_type": "equipment",
    "object_id": "42",
    "object_repr": 'EQ-0042 "Drehmoment" \\ 東京 \U0001f600',
    "changes": {
        "z": [1.5, 1e-07],
        "Ä": [None, "x\ny"],
        "a": [10**20, -0.0],
        "b": {"k": [True, False]},
    },
    "reason": "control \x01 char",
    "request_id": "r" * 32,
    "client_ip": "2001:db8::1",
}
GOLDEN_HASHES = [
    "e7a1663b8e2e9041489d10fb8954b323f886f18926203d8ad894cf22ab4a3307",
    "ba6f481dc33e1f33cc0f8d4c517f8a23e78bbd8af9dfced3f1bcdf49336e393c",
]


def test_the_hashes_of_version_1_links_are_those_the_chain_has_always_had():
    second = {**GOLDEN, "id": 4712, "changes": None, "client_ip": None}
    events = [tuple(row[name] for name in EVENT_FIELDS) for row in (GOLDEN, second)]

    first = link_hash(GOLDEN, sequence=1, previous_hash=GENESIS_HASH)

    assert [first, link_hash(second, sequence=2, previous_hash=first)] == GOLDEN_HASHES
    assert link_hashes(events, sequence=0, previous_hash=GENESIS_HASH) == GOLDEN_HASHES


def test_each_events_hash_at_its_own_link_is_the_documented_one():
    events = list(rows())
    links = [(n * 3 + 1, f"{n:064x}") for n in range(len(events))]

    hashes = link_hashes_at([tuple(row[name] for name in EVENT_FIELDS) for row in events], links)

    assert hashes == [
        reference(row, sequence=sequence, previous_hash=previous)
        for row, (sequence, previous) in zip(events, links, strict=True)
    ]
