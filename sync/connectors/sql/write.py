"""Writing to external SQL tables: upsert rows by key (reads are in `read`, what the
catalogue says of the key in `catalog`).

`db` is the standalone wrapper from `SQLConnector.open()`. It is not registered in
`django.db.connections`, so `transaction.atomic` cannot manage it: each upsert statement gets
its own transaction through the wrapper's own commit/rollback. A statement the database
refuses is rolled back and its rows are written again one by one, so only the bad rows fail.
SQL Server-only SQL lives in `sync.connectors.sql.mssql`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import Error as DatabaseError
from django.db.backends.base.base import BaseDatabaseWrapper

from sync.connectors.base import WriteFailure, external_id
from sync.connectors.errors import ConnectorError, redact
from sync.connectors.sql import mssql, read
from sync.connectors.sql.identifiers import execute, qualified, quoter

ROWS_PER_STATEMENT = 1000  # rows per multi-row INSERT outside SQL Server (a batch)…
PARAMETERS_PER_STATEMENT = 20_000  # …and values, where the backend states no limit


def _rows_per_insert(db: BaseDatabaseWrapper, kind: str, column_count: int) -> int:
    if kind == "mssql":
        return mssql.rows_per_statement(column_count)
    # PostgreSQL and MySQL have no small limit, but a statement should stay a sensible size.
    parameters = db.features.max_query_params or PARAMETERS_PER_STATEMENT
    return max(1, min(ROWS_PER_STATEMENT, parameters // column_count))


@functools.lru_cache(maxsize=32)
def _numbered_marks(row_count: int, width: int) -> str:
    """`($1, $2), ($3, $4), …`: PostgreSQL's own placeholders, which psycopg's RawCursor
    passes as they are (its `%s` queries are parsed again in Python for every statement
    longer than 4 kB: a large share of a batch's upsert)."""
    return ", ".join(
        "(" + ", ".join(f"${start + n}" for n in range(1, width + 1)) + ")"
        for start in range(0, row_count * width, width)
    )


def _insert_statement(
    db: BaseDatabaseWrapper, kind: str, table: str, key: str, rows: Sequence[Mapping[str, Any]]
) -> tuple[str, list[Any]]:
    q = quoter(db)
    columns = list(rows[0])
    others = [c for c in columns if c != key]
    marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
    if kind == "mysql":
        # VALUES(c), not MySQL 8's row alias: MariaDB knows only this form. A key-only row
        # still needs an assignment, and `k = k` changes nothing.
        sets = ", ".join(f"{q(c)} = VALUES({q(c)})" for c in others) or f"{q(key)} = {q(key)}"
        tail = f" ON DUPLICATE KEY UPDATE {sets}"
    else:  # PostgreSQL, SQLite ≥ 3.24
        sets = ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in others)
        tail = f" ON CONFLICT ({q(key)}) " + (f"DO UPDATE SET {sets}" if others else "DO NOTHING")
    names = ", ".join(q(c) for c in columns)
    if db.vendor == "postgresql":  # run by _execute_server_side
        values = _numbered_marks(len(rows), len(columns))
    else:
        values = ", ".join([marks] * len(rows))
    sql = f"INSERT INTO {table} ({names}) VALUES {values}{tail}"  # noqa: S608
    return sql, [row[c] for row in rows for c in columns]


def _statement(
    db: BaseDatabaseWrapper, kind: str, table: str, key: str, rows: Sequence[Mapping[str, Any]]
) -> tuple[str, list[Any]]:
    if kind == "mssql":
        return mssql.merge_statement(quoter(db), table, key, rows)
    return _insert_statement(db, kind, table, key, rows)


def _execute_server_side(db: BaseDatabaseWrapper, sql: str, params: list[Any]) -> None:
    """PostgreSQL: a statement with numbered placeholders (`$1`), the values bound by the
    server (Django's cursors format thousands of them into the statement in Python,
    client-side), errors as Django's."""
    with read.numbered_cursor(db) as cursor:
        execute(cursor, sql, params)


def _write(db: BaseDatabaseWrapper, sql: str, params: list[Any]) -> DatabaseError | None:
    """Run one statement in a transaction of its own: None once committed, or the database's
    refusal once rolled back. When even the rollback fails (the connection is gone), that
    error propagates."""
    db.set_autocommit(False)
    try:
        if db.vendor == "postgresql":
            _execute_server_side(db, sql, params)
        else:
            with db.cursor() as cursor:
                execute(cursor, sql, params)
        db.commit()
    except DatabaseError as exc:
        db.rollback()
        return exc
    finally:
        db.set_autocommit(True)
    return None


def _describe(exc: BaseException, secrets: Sequence[str]) -> str:
    # Django re-raises driver errors as its own classes; the driver's class says more
    # (NotNullViolation, DataError, …).
    cause = exc.__cause__ if isinstance(exc.__cause__, Exception) else exc
    return redact(f"{type(cause).__name__}: {cause}", secrets)


def upsert_rows(
    db: BaseDatabaseWrapper,
    *,
    kind: str,
    object_name: str,
    key: str,
    rows: Sequence[dict[str, Any]],
    secrets: Sequence[str] = (),
) -> list[WriteFailure]:
    """Insert or update `rows` (all with the same columns, `key` among them) by `key`,
    idempotently; the last of several rows with one key wins. Returns the rows the database
    refused, with the driver's error (credentials in `secrets` removed); the others are
    written. A row without a key value fails untried, with an empty external id. Raises
    ConnectorError when the connection itself fails."""
    failures = [
        WriteFailure(external_id="", message=f"No value for the key column {key!r}.")
        for row in rows
        if row.get(key) is None
    ]
    latest = {row[key]: row for row in rows if row.get(key) is not None}
    if not latest:
        return failures
    unique = list(latest.values())
    columns = list(unique[0])
    if any(row.keys() != unique[0].keys() for row in unique):
        raise ValueError("upsert_rows needs rows that all have the same columns.")
    table = qualified(db, object_name)
    size = _rows_per_insert(db, kind, len(columns))
    try:
        for start in range(0, len(unique), size):
            chunk = unique[start : start + size]
            failures += _upsert_chunk(db, kind, table, key, chunk, secrets)
    except DatabaseError as exc:
        raise ConnectorError(_describe(exc, secrets)) from None
    return failures


def _upsert_chunk(
    db: BaseDatabaseWrapper,
    kind: str,
    table: str,
    key: str,
    chunk: Sequence[Mapping[str, Any]],
    secrets: Sequence[str],
) -> list[WriteFailure]:
    refusal = _write(db, *_statement(db, kind, table, key, chunk))
    if refusal is None:
        return []
    if not db.is_usable():  # a lost connection is not the rows' fault: fail the whole call
        raise ConnectorError("Lost the connection: " + _describe(refusal, secrets))
    if len(chunk) == 1:
        return [WriteFailure(external_id(chunk[0], key), _describe(refusal, secrets))]
    # Find the bad rows: each on its own (slow, but only for a chunk that failed).
    return [f for row in chunk for f in _upsert_chunk(db, kind, table, key, [row], secrets)]
