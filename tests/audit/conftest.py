"""Helpers of the audit trail tests: events made through the service, raw SQL on the tables
(the way someone with database access would tamper), and the PostgreSQL-only marker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from audit import actors, services
from audit.models import AuditEvent

EVENT_TABLE = AuditEvent._meta.db_table
SEAL_TABLE = "audit_auditseal"
HEAD_TABLE = "audit_auditchainhead"


@pytest.fixture(autouse=True)
def _postgres_only(request) -> None:
    """`@pytest.mark.postgres`: the test runs when the default database is PostgreSQL (the CI
    pass with DATABASE_URL=postgres://…) and says why it skipped otherwise."""
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.skip("needs the default database to be PostgreSQL (DATABASE_URL=postgres://…)")


@pytest.fixture
def record(db) -> Callable[..., AuditEvent]:
    """Records an NCR event through the service (defaults make a valid one)."""

    def make(object_id: object = 1, **fields: object) -> AuditEvent:
        data = {
            "action": "created",
            "object_type": "ncr",
            "object_id": object_id,
            "object_repr": f"NCR-2026-{object_id:04}" if isinstance(object_id, int) else "NCR",
            "changes": {"title": [None, "Weld crack"]},
            "actor": actors.system("test"),
            **fields,
        }
        return services.event_record(**data)

    return make


def execute(sql: str, params: tuple = ()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


@contextmanager
def tampering(*tables: str) -> Iterator[None]:
    """Raw SQL as a database superuser would send it: on PostgreSQL the append-only triggers
    are disabled for the block (ALTER TABLE … DISABLE TRIGGER, rolled back with the test)."""
    postgres = connection.vendor == "postgresql"
    if postgres:
        for table in tables:
            execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    try:
        yield
    finally:
        if postgres:
            for table in tables:
                execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


@pytest.fixture
def clock(monkeypatch) -> Callable[[float], None]:
    """Moves Django's clock forward by the given seconds (time is the edge of the process)."""
    offset = [timedelta()]
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + offset[0])

    def advance(seconds: float) -> None:
        offset[0] += timedelta(seconds=seconds)

    return advance
