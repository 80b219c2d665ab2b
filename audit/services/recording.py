"""Recording audit events: one INSERT for one event, one INSERT statement for a batch."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone

from audit import context
from audit.actors import Actor
from audit.changes import TOKEN_PATTERNS, json_safe, redact_tokens
from audit.models import AuditEvent
from eqms_integration import bulk_sql

ACTIONS = frozenset(AuditEvent.Action.values)
OBJECT_TYPES = frozenset(AuditEvent.ObjectType.values)
REPR_MAX = AuditEvent._meta.get_field("object_repr").max_length
OBJECT_ID_MAX = AuditEvent._meta.get_field("object_id").max_length
REQUEST_ID_MAX = AuditEvent._meta.get_field("request_id").max_length
_COLUMNS = [field.attname for field in AuditEvent._meta.concrete_fields]
# The order _values() gives the columns in; checked here so a new field cannot shift them.
_VALUE_ORDER = [
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
]
if _COLUMNS != _VALUE_ORDER:  # pragma: no cover - a new field of AuditEvent must be added there
    raise RuntimeError("audit.services.recording._values must follow AuditEvent's fields.")


@dataclass(frozen=True)
class EventData:
    """One event of a batch for events_record_many (same meaning as event_record's
    arguments)."""

    action: str
    object_type: str
    object_id: Any
    object_repr: str
    changes: Mapping[str, Any] | None = None
    reason: str = ""


def _checked_changes(action: str, changes: Mapping[str, Any] | None) -> dict[str, Any]:
    if action == AuditEvent.Action.UPDATED and not changes:
        # An update that changes nothing records nothing: the caller checks `if changes:`.
        raise ValueError("An 'updated' event needs changes; record it only `if changes:`.")
    safe = {}
    for name, pair in (changes or {}).items():
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ValueError(f"changes[{name!r}] must be [old, new], not {pair!r}.")
        old, new = pair
        # json_safe of the pair for the kinds sync batches hold (None, numbers, text,
        # dates), in a fraction of its time; json_safe itself for anything else.
        old, new = _plain(old), _plain(new)
        safe[name if type(name) is str else str(name)] = (
            [old, new] if old is not _OTHER and new is not _OTHER else json_safe(list(pair))
        )
    return safe


_SCALARS = frozenset({type(None), bool, int})
_ANY_TOKEN = re.compile("|".join(f"(?:{pattern.pattern})" for pattern in TOKEN_PATTERNS))
_OTHER = object()  # a value _plain leaves to json_safe


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind is str:
        return redact_tokens(value) if _ANY_TOKEN.search(value) else value
    if kind in _SCALARS:
        return value
    if kind is dt.date:
        return value.isoformat()
    return _OTHER


def _checked_ip(value: str | None) -> str | None:
    # X-Forwarded-For is the client's to write: anything that is not an address is dropped
    # rather than allowed to fail the change being recorded.
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _values(data: EventData, *, who: context.Current, occurred_at: Any) -> list[Any]:
    """The event's columns after `id`, in the table's order, checked."""
    _check_kind(data.action, data.object_type)
    object_id = str(data.object_id)
    if not object_id or len(object_id) > OBJECT_ID_MAX:
        raise ValueError(f"object_id must be 1 to {OBJECT_ID_MAX} characters: {object_id!r}.")
    return [
        occurred_at,
        who.actor.type,
        who.actor.id,
        who.actor.name,
        who.channel,
        data.action,
        data.object_type,
        object_id,
        _redacted(str(data.object_repr))[:REPR_MAX],
        _checked_changes(data.action, data.changes),
        _redacted(data.reason or ""),
        who.request_id,
        who.client_ip,
    ]


def _redacted(text: str) -> str:
    return redact_tokens(text) if _ANY_TOKEN.search(text) else text


def _who(actor: Actor | None, channel: str | None) -> context.Current:
    """Who and how, checked once for an event or a whole batch."""
    who = context.current()
    if actor is not None and not isinstance(actor, Actor):
        raise TypeError("actor must be an audit.actors.Actor (e.g. actors.user(user)).")
    actor = actor or who.actor
    return context.Current(
        actor=Actor(actor.type, actor.id, redact_tokens(actor.name)),
        channel=context.check_channel(channel) if channel else who.channel,
        request_id=who.request_id[:REQUEST_ID_MAX],
        client_ip=_checked_ip(who.client_ip),
    )


def event_record(
    *,
    action: str,
    object_type: str,
    object_id: Any,
    object_repr: str,
    changes: Mapping[str, Any] | None = None,
    reason: str = "",
    actor: Actor | None = None,
    channel: str | None = None,
) -> AuditEvent:
    """Insert one event in the caller's transaction (call it inside the service's atomic
    block, after the change: a rollback takes the event with it). Actor and channel default
    to the current audit context."""
    data = EventData(action, object_type, object_id, object_repr, changes, reason)
    values = _values(data, who=_who(actor, channel), occurred_at=timezone.now())
    if connection.vendor == "postgresql":
        # One prepared INSERT … RETURNING (Model.save's compile, signals and field walk cost
        # more than the statement on the path of every NCR/CAPA change).
        with connection.cursor() as cursor:
            params = list(values)
            params[_CHANGES_AT] = _CHANGES_TEXT(values[_CHANGES_AT])
            cursor.execute(_PG_INSERT, params)
            (pk,) = cursor.fetchone()
        return AuditEvent.from_db(connection.alias, _COLUMNS, [pk, *values])
    event = AuditEvent(None, *values)
    event.save()
    return event


def events_record_many(
    events: Iterable[EventData],
    *,
    actor: Actor | None = None,
    channel: str | None = None,
    returning: bool = True,
) -> list[AuditEvent]:
    """Insert a batch with one INSERT statement (where the database allows that many
    parameters; SQLite and SQL Server split it), all with the same actor, channel and time.
    Returns the events (with their ids on PostgreSQL, SQLite and MariaDB); `returning=False`:
    none (they are written all the same, through events_record_rows)."""
    if not returning:
        events_record_rows(
            (
                (e.action, e.object_type, e.object_id, e.object_repr, e.changes, e.reason)
                for e in events
            ),
            actor=actor,
            channel=channel,
        )
        return []
    who, now = _who(actor, channel), timezone.now()
    rows = [_values(data, who=who, occurred_at=now) for data in events]
    if not rows:
        return []
    ids = _insert_fast(rows, returning=returning)
    if ids is None:
        return AuditEvent.objects.bulk_create([AuditEvent(None, *row) for row in rows])
    return [AuditEvent.from_db(connection.alias, _COLUMNS, [pk, *row]) for pk, row in ids]


# (action, object_type, object_id, object_repr, changes, reason): an event of a bulk writer.
EventRow = tuple[str, str, Any, str, Mapping[str, Any] | None, str]
_CHANGES_TEXT = bulk_sql.json_text(AuditEvent._meta.get_field("changes").encoder)
_PG_INSERT = "INSERT INTO {} ({}) VALUES ({}) RETURNING {}".format(  # noqa: S608 - checked names
    bulk_sql.quote(AuditEvent._meta.db_table, "postgresql"),
    ", ".join(bulk_sql.quote(column, "postgresql") for column in _COLUMNS[1:]),
    ", ".join(["%s"] * (len(_COLUMNS) - 1)),
    bulk_sql.quote(_COLUMNS[0], "postgresql"),
)
_CHANGES_AT = _COLUMNS.index("changes") - 1  # in _values(), which has no id


def events_record_rows(
    events: Iterable[EventRow], *, actor: Actor | None = None, channel: str | None = None
) -> int:
    """A bulk writer's batch (sync runs) as plain rows, without ids: the same checks and the
    same stored columns as events_record_many, with who, how and when resolved once per
    batch and the action and object type checked once per kind. On PostgreSQL one COPY of
    rows already in the database's form (changes as their JSON text). Returns the count."""
    who, now = _who(actor, channel), timezone.now()
    pg = connection.vendor == "postgresql"
    rows = _event_rows(events, who, now, json_text=pg)
    if pg:
        # The rows are made as the COPY sends them (the server stores a batch's first rows
        # while the next are made); a wrong event stops the COPY and nothing is written.
        counted = _Counted(rows)
        bulk_sql.copy_rows(AuditEvent, _COLUMNS[1:], counted, prepared=True)
        return counted.count
    rows = list(rows)
    if not rows:
        return 0
    if _insert_fast(rows, returning=False) is None:
        AuditEvent.objects.bulk_create([AuditEvent(None, *row) for row in rows])
    return len(rows)


class _Counted:
    def __init__(self, rows: Iterable[tuple]) -> None:
        self.rows, self.count = rows, 0

    def __iter__(self) -> Iterator[tuple]:
        for row in self.rows:
            self.count += 1
            yield row


def _event_rows(
    events: Iterable[EventRow], who: context.Current, now: Any, *, json_text: bool
) -> Iterator[tuple]:
    """events_record_rows' rows in the table's column order (after id), checked."""
    when = bulk_sql.copy_time(now) if json_text else now  # COPY takes the time as text
    head = (when, who.actor.type, who.actor.id, who.actor.name, who.channel)
    request_id, client_ip = who.request_id, who.client_ip
    kinds: set[tuple[str, str]] = set()
    search = _ANY_TOKEN.search
    for action, object_type, object_id, object_repr, changes, reason in events:
        if (action, object_type) not in kinds:
            _check_kind(action, object_type)
            kinds.add((action, object_type))
        object_id = str(object_id)
        if not object_id or len(object_id) > OBJECT_ID_MAX:
            raise ValueError(f"object_id must be 1 to {OBJECT_ID_MAX} characters: {object_id!r}.")
        text = str(object_repr)
        if search(text):
            text = redact_tokens(text)
        safe = _checked_changes(action, changes)
        yield (
            *head,
            action,
            object_type,
            object_id,
            text[:REPR_MAX],
            _CHANGES_TEXT(safe) if json_text else safe,
            _redacted(reason) if reason else "",
            request_id,
            client_ip,
        )


def _check_kind(action: str, object_type: str) -> None:
    if action not in ACTIONS:
        raise ValueError(f"Unknown audit action {action!r}; add it to AuditEvent.Action.")
    if object_type not in OBJECT_TYPES:
        raise ValueError(
            f"Unknown audit object type {object_type!r}; add it to AuditEvent.ObjectType."
        )


def _insert_fast(rows: list[Any], *, returning: bool) -> list[tuple[int, list[Any]]] | None:
    """The batch in one statement through eqms_integration.bulk_sql (Django's bulk_create of a
    sync batch's events costs more than the batch's own writes): on PostgreSQL a COPY, with
    ids drawn from the table's sequence first so each event has its id in order; on SQLite
    one INSERT … RETURNING per variable limit, in row order as bulk_create relies on too.
    None elsewhere (SQL Server: bulk_create). Returns (id, row) pairs; without `returning`,
    on PostgreSQL none: the table's own default gives the ids (no round trip to draw them)."""
    if connection.vendor == "postgresql":
        ids = bulk_sql.copy_rows(AuditEvent, _COLUMNS[1:], rows, ids=returning) or []
        if not returning:
            return []
    elif connection.vendor == "sqlite":
        if not returning:
            bulk_sql.insert(AuditEvent, _COLUMNS[1:], rows)
            return []
        returned = bulk_sql.insert(AuditEvent, _COLUMNS[1:], rows, returning=["id"]) or []
        ids = [pk for (pk,) in returned]
    else:
        return None
    return list(zip(ids, rows, strict=True))
