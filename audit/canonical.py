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
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from eqms_integration.json_encoding import fast_encode

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
# The event's members in the sorted order of their keys, in runs of those that a batch's
# events share (who, how, when: written once per distinct value) and those of each event.
_WHO = ("action", "actor_id", "actor_name", "actor_type")
_HOW = ("channel", "client_ip")
_WHEN = ("object_type", "occurred_at", "reason", "request_id")
if (*_WHO, "changes", *_HOW, "id", "object_id", "object_repr", *_WHEN) != tuple(
    sorted(EVENT_FIELDS)
):  # pragma: no cover - a new column must be placed in _Links.text too
    raise RuntimeError("audit.canonical._Links.text must write every event column.")


# _ENCODER.encode with its C encoder made once (JSON read from the database is not circular).
_ENCODE = fast_encode(_ENCODER)


def _value(value: Any) -> str:
    """What json.dumps writes for `value` inside the document."""
    kind = type(value)
    if kind is str:
        return _STRING(value)
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    return _ENCODE(value)


def _plain(values: tuple) -> bool:
    """Values whose text may be remembered by value: text and null only (1, 1.0 and True are
    equal as keys, and written differently)."""
    return all(value is None or type(value) is str for value in values)


def _same(value: Any) -> Any:
    return value


class _Links:
    """Writes link documents as canonical_json writes them, member by member: json.dumps
    with sorted keys writes each member as its key, ':' and the value dumped alone, so this is
    the same text without a dict per event and without sorting it. The members that a batch's
    events share (who, how, when) are written once per distinct value, not once per event."""

    def __init__(self, moment: Callable[[Any], str], changes: Callable[[Any], Any]) -> None:
        self.moment, self.changes = moment, changes
        self.whos: dict[tuple, str] = {}
        self.hows: dict[tuple, str] = {}
        self.whens: dict[tuple, str] = {}

    @staticmethod
    def _keep(known: dict[tuple, str], key: tuple, values: tuple, text: str) -> str:
        if _plain(values):
            known[key] = text
        return text

    def _who(self, key: tuple) -> str:
        action, actor_id, actor_name, actor_type = key
        text = (
            f'"action":{_value(action)},"actor_id":{_value(actor_id)},'
            f'"actor_name":{_value(actor_name)},"actor_type":{_value(actor_type)},'
        )
        return self._keep(self.whos, key, key, text)

    def _how(self, key: tuple) -> str:
        channel, client_ip = key
        text = f'"channel":{_value(channel)},"client_ip":{_value(client_ip)},'
        return self._keep(self.hows, key, key, text)

    def _when(self, key: tuple) -> str:
        object_type, occurred, reason, request_id = key
        text = (
            f'"object_type":{_value(object_type)},"occurred_at":{_STRING(self.moment(occurred))},'
            f'"reason":{_value(reason)},"request_id":{_value(request_id)}'
        )
        # Any moment: equal moments give the same text, whatever their type.
        return self._keep(self.whens, key, (object_type, reason, request_id), text)

    def text(self, event: Sequence[Any], sequence: int, previous_hash: str) -> str:
        """`event`: the values of EVENT_FIELDS, in that order."""
        (
            ident,
            occurred,
            actor_type,
            actor_id,
            actor_name,
            channel,
            action,
            object_type,
            object_id,
            object_repr,
            changes,
            reason,
            request_id,
            client_ip,
        ) = event
        who = (action, actor_id, actor_name, actor_type)
        how = (channel, client_ip)
        when = (object_type, occurred, reason, request_id)
        return "".join(
            (
                '{"event":{',
                self.whos.get(who) or self._who(who),
                '"changes":',
                _value(self.changes(changes)),
                ",",
                self.hows.get(how) or self._how(how),
                '"id":',
                int.__repr__(ident) if type(ident) is int else _value(ident),
                ',"object_id":',
                _STRING(object_id) if type(object_id) is str else _value(object_id),
                ',"object_repr":',
                _STRING(object_repr) if type(object_repr) is str else _value(object_repr),
                ",",
                self.whens.get(when) or self._when(when),
                '},"previous_hash":',
                _STRING(previous_hash) if type(previous_hash) is str else _value(previous_hash),
                ',"sequence":',
                int.__repr__(sequence) if type(sequence) is int else _value(sequence),
                ',"v":1}',
            )
        )


def link_text(row: Mapping[str, Any], *, sequence: int, previous_hash: str) -> str:
    """canonical_json of the link's document (as text)."""
    event = tuple(row[name] for name in EVENT_FIELDS)
    return _Links(utc_iso, _same).text(event, sequence, previous_hash)


def link_hash(row: Mapping[str, Any], *, sequence: int, previous_hash: str) -> str:
    text = link_text(row, sequence=sequence, previous_hash=previous_hash)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def link_hashes(
    events: Iterable[Sequence[Any]],
    *,
    sequence: int,
    previous_hash: str,
    moment: Callable[[Any], str] = utc_iso,
    changes: Callable[[Any], Any] = _same,
) -> list[str]:
    """The hashes of the links of `events` after the link (sequence, previous_hash), in order,
    each covering the one before: link_hash of each, for a batch at a time. `events`: tuples
    of EVENT_FIELDS' values in that order, as a reader returns them, with `moment` giving the
    text of an `occurred_at` value (called once per distinct value: it must give equal
    values the same text) and `changes` the JSON value of a `changes` value."""
    links, hashes, sha256 = _Links(moment, changes), [], hashlib.sha256
    for event in events:
        sequence += 1
        previous_hash = sha256(links.text(event, sequence, previous_hash).encode()).hexdigest()
        hashes.append(previous_hash)
    return hashes


def link_hashes_at(events: Iterable[Sequence[Any]], links: Iterable[tuple[int, str]]) -> list[str]:
    """link_hash of each event at its own link (sequence, previous_hash), for a chunk at a
    time (the verifier's check of seals as they stand); events as for link_hashes, with
    `occurred_at` as a datetime."""
    writer, sha256 = _Links(utc_iso, _same), hashlib.sha256
    return [
        sha256(writer.text(event, sequence, previous).encode()).hexdigest()
        for event, (sequence, previous) in zip(events, links, strict=True)
    ]
