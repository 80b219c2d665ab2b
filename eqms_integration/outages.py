"""Backing services that are down: recognised, logged once, answered with 503.

A request that needs the database, the cache or the broker while it cannot be reached gets a
503 `service_unavailable` with Retry-After, not a 500 with a traceback. Each process logs one
line when it first finds a service down (with the cause) and one when it finds it back, so an
outage of 30 s under load is two lines per process instead of a traceback per request.

Who notices a service is back: a new database connection (Django's `connection_created`), a
successful publish (broker), a successful cache call of the API-key store or the usage push
(cache), a passing /readyz check (any of them).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

DATABASE, CACHE, BROKER = "database", "cache", "broker"
# What a client is told to wait before trying again; short, as most outages are restarts.
RETRY_AFTER_SECONDS = 5


# While a service is down, callers that can do without it (the API-key cache, publishing)
# try it again at most this often instead of waiting on it in every request.
RETRY_SECONDS = 5.0


@dataclass
class _Outage:
    since: float  # time.monotonic()
    last_failure: float
    refused: int = 0  # requests and operations that met it after the first


_lock = threading.Lock()
_current: dict[str, _Outage] = {}


def unavailable_service(exc: BaseException) -> str | None:
    """The backing service an exception says cannot be reached, or None for any other error."""
    if isinstance(exc, DatabaseOperationalError | DatabaseInterfaceError):
        return DATABASE
    if isinstance(exc, BrokerOperationalError):
        return BROKER
    # The broker's Redis errors reach us wrapped by kombu (above); bare ones are the cache's.
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        return CACHE
    return None


def cause_of(exc: BaseException) -> str:
    """One line naming the error: drivers put hints on further lines, never credentials."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def outage_report(service: str, exc: BaseException) -> None:
    """Note that `service` failed; the first failure of an outage is logged, with its cause."""
    now = time.monotonic()
    with _lock:
        outage = _current.get(service)
        if outage is not None:
            outage.refused += 1
            outage.last_failure = now
            return
        _current[service] = _Outage(since=now, last_failure=now)
    logger.warning("%s unavailable (%s)", service, cause_of(exc))


def outage_over(service: str) -> None:
    """Note that `service` answered; ends its outage (logged once) if there was one."""
    if service not in _current:  # the common case: no lock, no work
        return
    with _lock:
        outage = _current.pop(service, None)
    if outage is not None:
        logger.warning(
            "%s available again after %.1f s (%d more failures met it meanwhile)",
            service,
            time.monotonic() - outage.since,
            outage.refused,
        )


def is_down(service: str) -> bool:
    return service in _current


def worth_trying(service: str) -> bool:
    """False while `service` failed less than RETRY_SECONDS ago."""
    outage = _current.get(service)
    return outage is None or time.monotonic() - outage.last_failure >= RETRY_SECONDS


def database_connected(sender: object, connection: object, **kwargs: object) -> None:
    """`connection_created` receiver: a new connection to one of our own databases means the
    database is back (sync connections to other systems use wrappers of their own aliases)."""
    from django.conf import settings

    if getattr(connection, "alias", None) in settings.DATABASES:
        outage_over(DATABASE)


def outage_tolerant(task: Callable[P, R]) -> Callable[P, R | None]:
    """For Celery tasks: a backing service that is down ends the task quietly, logged once per
    outage, instead of a traceback per task; the work stays in the database, due, and the
    sweepers hand it out again once the service is back."""

    @functools.wraps(task)
    def run(*args: P.args, **kwargs: P.kwargs) -> R | None:
        try:
            return task(*args, **kwargs)
        except Exception as exc:
            service = unavailable_service(exc)
            if service is None:
                raise
            outage_report(service, exc)
            return None

    return run
