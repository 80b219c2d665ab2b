"""Who is acting and through which channel, for every audit event recorded meanwhile.

A context variable holds the current scope (actor, channel, request_id, client_ip). It is set
in one place per way in:

- web requests: audit.middleware.AuditContextMiddleware (channel `admin` under /admin/, `api`
  otherwise; the actor is read from the request when an event is recorded, after DRF has
  authenticated it);
- management commands: a hook on BaseCommand.execute (channel `command`, actor `system` with
  the OS user name; audit.hooks);
- Celery tasks: task_prerun/task_postrun signals (channel `task`, actor `system`, the task id
  as request_id; audit.hooks);
- anything else that acts for someone, explicitly:

      with audit_context(actor=actors.sync_run(run), channel="sync"):
          ...every event recorded here names the run, through the sync channel

Scopes nest: what an inner scope does not set (e.g. request_id) is taken from the outer one.
Code that runs outside any scope (a script after django.setup()) records channel `command`,
actor `system`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass

from audit import actors
from audit.actors import Actor

ADMIN, API, SYNC, COMMAND, TASK = "admin", "api", "sync", "command", "task"
CHANNELS = (ADMIN, API, SYNC, COMMAND, TASK)

ActorSource = Actor | Callable[[], Actor]


@dataclass(frozen=True)
class Scope:
    actor: ActorSource | None = None
    channel: str | None = None
    request_id: str = ""
    client_ip: str | None = None


@dataclass(frozen=True)
class Current:
    """The scope as an event records it: everything resolved."""

    actor: Actor
    channel: str
    request_id: str
    client_ip: str | None


_scope: ContextVar[Scope | None] = ContextVar("audit_scope", default=None)


def check_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise ValueError(f"Unknown audit channel {channel!r}; one of {', '.join(CHANNELS)}.")
    return channel


def enter(
    *,
    actor: ActorSource | None = None,
    channel: str | None = None,
    request_id: str | None = None,
    client_ip: str | None = None,
) -> Token[Scope | None]:
    """Open a scope on top of the current one; give the token to `leave`. For hooks that
    cannot use a `with` block (signal pairs); everything else uses audit_context."""
    outer = _scope.get() or Scope()
    scope = Scope(
        actor=actor if actor is not None else outer.actor,
        channel=check_channel(channel) if channel is not None else outer.channel,
        request_id=request_id if request_id is not None else outer.request_id,
        client_ip=client_ip if client_ip is not None else outer.client_ip,
    )
    return _scope.set(scope)


def leave(token: Token[Scope | None]) -> None:
    _scope.reset(token)


@contextmanager
def audit_context(
    *,
    actor: ActorSource | None = None,
    channel: str | None = None,
    request_id: str | None = None,
    client_ip: str | None = None,
) -> Iterator[None]:
    token = enter(actor=actor, channel=channel, request_id=request_id, client_ip=client_ip)
    try:
        yield
    finally:
        leave(token)


def current() -> Current:
    scope = _scope.get() or Scope()
    actor = scope.actor() if callable(scope.actor) else scope.actor
    return Current(
        actor=actor or actors.system(),
        channel=scope.channel or COMMAND,
        request_id=scope.request_id,
        client_ip=scope.client_ip,
    )
