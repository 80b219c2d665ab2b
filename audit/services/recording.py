"""Recording audit events: one INSERT for one event, one INSERT statement for a batch."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from audit import context
from audit.actors import Actor
from audit.changes import json_safe, redact_tokens
from audit.models import AuditEvent

ACTIONS = frozenset(AuditEvent.Action.values)
OBJECT_TYPES = frozenset(AuditEvent.ObjectType.values)
REPR_MAX = AuditEvent._meta.get_field("object_repr").max_length
OBJECT_ID_MAX = AuditEvent._meta.get_field("object_id").max_length
REQUEST_ID_MAX = AuditEvent._meta.get_field("request_id").max_length


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
    changes = dict(changes or {})
    for name, pair in changes.items():
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ValueError(f"changes[{name!r}] must be [old, new], not {pair!r}.")
    if action == AuditEvent.Action.UPDATED and not changes:
        # An update that changes nothing records nothing: the caller checks `if changes:`.
        raise ValueError("An 'updated' event needs changes; record it only `if changes:`.")
    return json_safe({str(name): list(pair) for name, pair in changes.items()})


def _checked_ip(value: str | None) -> str | None:
    # X-Forwarded-For is the client's to write: anything that is not an address is dropped
    # rather than allowed to fail the change being recorded.
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _build(data: EventData, *, who: context.Current, occurred_at: Any) -> AuditEvent:
    if data.action not in ACTIONS:
        raise ValueError(f"Unknown audit action {data.action!r}; add it to AuditEvent.Action.")
    if data.object_type not in OBJECT_TYPES:
        raise ValueError(
            f"Unknown audit object type {data.object_type!r}; add it to AuditEvent.ObjectType."
        )
    object_id = str(data.object_id)
    if not object_id or len(object_id) > OBJECT_ID_MAX:
        raise ValueError(f"object_id must be 1 to {OBJECT_ID_MAX} characters: {object_id!r}.")
    return AuditEvent(
        occurred_at=occurred_at,
        actor_type=who.actor.type,
        actor_id=who.actor.id,
        actor_name=who.actor.name,
        channel=who.channel,
        action=data.action,
        object_type=data.object_type,
        object_id=object_id,
        object_repr=redact_tokens(str(data.object_repr))[:REPR_MAX],
        changes=_checked_changes(data.action, data.changes),
        reason=redact_tokens(data.reason or ""),
        request_id=who.request_id,
        client_ip=who.client_ip,
    )


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
    event = _build(data, who=_who(actor, channel), occurred_at=timezone.now())
    event.save()
    return event


def events_record_many(
    events: Iterable[EventData], *, actor: Actor | None = None, channel: str | None = None
) -> list[AuditEvent]:
    """Insert a batch with one INSERT statement (where the database allows that many
    parameters; SQLite and SQL Server split it), all with the same actor, channel and time.
    Returns the events (with their ids on PostgreSQL, SQLite and MariaDB)."""
    who, now = _who(actor, channel), timezone.now()
    rows = [_build(data, who=who, occurred_at=now) for data in events]
    if not rows:
        return []
    return AuditEvent.objects.bulk_create(rows)
