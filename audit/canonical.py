"""The canonical content of an audit event and the hash of a chain link (no I/O).

A link's hash is the SHA-256 (lower-case hex) of the UTF-8 bytes of this JSON document:

    {"event": {<every column of the event but none of the seal>},
     "previous_hash": "<hex of the link before; 64 zeros for the first>",
     "sequence": <position in the chain, from 1>,
     "v": 1}

written with keys sorted at every level, separators "," and ":" (no spaces), non-ASCII
characters as themselves, `occurred_at` as ISO 8601 UTC with microseconds
("2026-03-01T09:30:00.123456Z"), `client_ip` as text or null, `changes` as stored. It is
computed from the row as the database returns it, by the sealer and again by the verifier, so
any later change of a column, of the order or of a link shows as a mismatch.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

VERSION = 1
GENESIS_HASH = "0" * 64
# The event's columns that the hash covers, in the order the README lists them.
EVENT_FIELDS = (
    "id",
    "occurred_at",
    "actor_type",
    "actor_id",
    "actor_name",
    "channel",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "changes",
    "reason",
    "request_id",
    "client_ip",
)


def utc_iso(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    if utc.year < 1000:  # strftime's %Y does not pad such years; isoformat would
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # The same text as that strftime, in a fraction of its time (the sealer's every event).
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(document: Any) -> bytes:
    return _ENCODER.encode(document).encode("utf-8")


_STRING = json.encoder.encode_basestring  # a str as json.dumps(ensure_ascii=False) writes it
# The event's keys in sorted order, each with the text that opens its member.
_MEMBERS = [(name, _STRING(name) + ":") for name in sorted(EVENT_FIELDS)]
# The last occurred_at written and its text, one tuple (rebound whole: threads may share it).
_last_time: tuple[Any, str] = (None, "")


# The C encoder json.dumps itself uses, made once (json.dumps makes one per call); without
# the check for circular references, which JSON read from the database cannot have.
_C_ENCODER = (
    json.encoder.c_make_encoder(None, _ENCODER.default, _STRING, None, ":", ",", True, False, True)
    if json.encoder.c_make_encoder is not None
    else None
)


def _value(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return _STRING(value)
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    if _C_ENCODER is not None and kind in (dict, list):
        return "".join(_C_ENCODER(value, 0))
    return _ENCODER.encode(value)  # what json.dumps writes for it inside the document


def link_text(row: dict[str, Any], *, sequence: int, previous_hash: str) -> str:
    """canonical_json of the link's document (as text), written member by member: json.dumps
    with sorted keys writes each member as its key, ':' and the value dumped alone, so this is
    the same text without sorting and walking the document per event."""
    global _last_time
    occurred, last = row["occurred_at"], _last_time
    if occurred == last[0]:  # the same moment (a batch's events share it): the same text
        when = last[1]
    else:
        when = _STRING(utc_iso(occurred))
        _last_time = (occurred, when)
    event = ",".join(
        key + (when if name == "occurred_at" else _value(row[name])) for name, key in _MEMBERS
    )
    return (
        '{"event":{'
        + event
        + '},"previous_hash":'
        + _value(previous_hash)
        + ',"sequence":'
        + _value(sequence)
        + ',"v":'
        + _value(VERSION)
        + "}"
    )


def link_hash(row: dict[str, Any], *, sequence: int, previous_hash: str) -> str:
    text = link_text(row, sequence=sequence, previous_hash=previous_hash)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
