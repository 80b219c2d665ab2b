"""Writing to external SQL tables: fetch rows by key, upsert rows by key, and what a
configuration that writes must know first (is the key unique, and of what type is it).

`db` is the standalone wrapper from `SQLConnector.open()`. It is not registered in
`django.db.connections`, so `transaction.atomic` cannot manage it: each upsert statement gets
its own transaction through the wrapper's own commit/rollback. A statement the database
refuses is rolled back and its rows are written again one by one, so only the bad rows fail.
SQL Server-only SQL lives in `sync.connectors.mssql`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import Error as DatabaseError
from django.db.backends.base.base import BaseDatabaseWrapper

from sync.connectors import mssql
from sync.connectors.base import WriteFailure, external_id
from sync.connectors.errors import ConnectorError, redact
from sync.connectors.identifiers import quoter
from sync.connectors.sql import _qualified, split_object_name

FETCH_CHUNK = 1000  # keys per SELECT … IN (…) outside SQL Server
ROWS_PER_STATEMENT = 500  # rows per multi-row INSERT outside SQL Server…
PARAMETERS_PER_STATEMENT = 10_000  # …and values, where the backend states no limit


def _keys_per_select(db: BaseDatabaseWrapper, kind: str) -> int:
    if kind == "mssql":
        return mssql.PARAMETER_BUDGET
    # SQLite reports 999 (older builds' limit); PostgreSQL and MySQL report none.
    return min(FETCH_CHUNK, db.features.max_query_params or FETCH_CHUNK)


def _rows_per_insert(db: BaseDatabaseWrapper, kind: str, column_count: int) -> int:
    if kind == "mssql":
        return mssql.rows_per_statement(column_count)
    # PostgreSQL and MySQL have no small limit, but a statement should stay a sensible size.
    parameters = db.features.max_query_params or PARAMETERS_PER_STATEMENT
    return max(1, min(ROWS_PER_STATEMENT, parameters // column_count))


def fetch_rows(
    db: BaseDatabaseWrapper, *, kind: str, object_name: str, key: str, columns: Sequence[str],
    keys: Sequence[Any],
) -> list[dict[str, Any]]:  # fmt: skip
    """The rows whose `key` is one of `keys`, as dicts of the key and `columns`; keys with no
    row are absent. Keys go as parameters, a chunk per statement within the parameter limit."""
    wanted = list(dict.fromkeys([key, *columns]))
    q = quoter(db)
    select, table = ", ".join(q(c) for c in wanted), _qualified(db, object_name)
    unique = [k for k in dict.fromkeys(keys) if k is not None]
    size = _keys_per_select(db, kind)
    found: list[dict[str, Any]] = []
    with db.cursor() as cursor:
        for start in range(0, len(unique), size):
            chunk = unique[start : start + size]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"SELECT {select} FROM {table} WHERE {q(key)} IN ({marks})", chunk)  # noqa: S608
            found += [dict(zip(wanted, row, strict=True)) for row in cursor.fetchall()]
    return found


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
    names, values = ", ".join(q(c) for c in columns), ", ".join([marks] * len(rows))
    sql = f"INSERT INTO {table} ({names}) VALUES {values}{tail}"  # noqa: S608
    return sql, [row[c] for row in rows for c in columns]


def _statement(
    db: BaseDatabaseWrapper, kind: str, table: str, key: str, rows: Sequence[Mapping[str, Any]]
) -> tuple[str, list[Any]]:
    if kind == "mssql":
        return mssql.merge_statement(quoter(db), table, key, rows)
    return _insert_statement(db, kind, table, key, rows)


def _write(db: BaseDatabaseWrapper, sql: str, params: list[Any]) -> DatabaseError | None:
    """Run one statement in a transaction of its own: None once committed, or the database's
    refusal once rolled back. When even the rollback fails (the connection is gone), that
    error propagates."""
    db.set_autocommit(False)
    try:
        with db.cursor() as cursor:
            cursor.execute(sql, params)
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
    db: BaseDatabaseWrapper, *, kind: str, object_name: str, key: str,
    rows: Sequence[dict[str, Any]], secrets: Sequence[str] = (),
) -> list[WriteFailure]:  # fmt: skip
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
    table = _qualified(db, object_name)
    size = _rows_per_insert(db, kind, len(columns))
    try:
        for start in range(0, len(unique), size):
            chunk = unique[start : start + size]
            failures += _upsert_chunk(db, kind, table, key, chunk, secrets)
    except DatabaseError as exc:
        raise ConnectorError(_describe(exc, secrets)) from None
    return failures


def _upsert_chunk(
    db: BaseDatabaseWrapper, kind: str, table: str, key: str, chunk: Sequence[Mapping[str, Any]],
    secrets: Sequence[str],
) -> list[WriteFailure]:  # fmt: skip
    refusal = _write(db, *_statement(db, kind, table, key, chunk))
    if refusal is None:
        return []
    if not db.is_usable():  # a lost connection is not the rows' fault: fail the whole call
        raise ConnectorError("Lost the connection: " + _describe(refusal, secrets))
    if len(chunk) == 1:
        return [WriteFailure(external_id(chunk[0], key), _describe(refusal, secrets))]
    # Find the bad rows: each on its own (slow, but only for a chunk that failed).
    return [f for row in chunk for f in _upsert_chunk(db, kind, table, key, [row], secrets)]


def key_is_unique(db: BaseDatabaseWrapper, *, object_name: str, key: str) -> bool:
    """True when `key` alone is the primary key or has a unique constraint or index (not a
    partial/filtered one) in that table: what an idempotent upsert by `key` relies on. Views
    and tables without such a key give False.

    The catalogues are asked directly, with parameters: Django's `get_constraints` cannot take
    a schema (PostgreSQL reads the search path, mssql-django a global setting, MySQL the
    current database), counts partial unique indexes as unique, and on SQLite needs the
    wrapper registered in `django.db.connections` (it probes JSON support in an atomic block).
    """
    schema, table = split_object_name(object_name)
    with db.cursor() as cursor:
        if db.vendor == "sqlite":
            return _sqlite_key_is_unique(cursor, schema, table, key)
        query = {
            "postgresql": _postgresql_unique_key_query,
            "mysql": _mysql_unique_key_query,
            "microsoft": mssql.unique_key_query,
        }[db.vendor]
        cursor.execute(*query(schema, table, key))
        return cursor.fetchone()[0] > 0


def _postgresql_unique_key_query(schema: str | None, table: str, key: str) -> tuple[str, list]:
    # Ordinary and partitioned tables only (a materialized view may have unique indexes);
    # indkey[0] is the first key column; INCLUDE columns do not count (indnkeyatts).
    where = "n.nspname = %s" if schema else "pg_catalog.pg_table_is_visible(c.oid)"
    sql = (
        "SELECT COUNT(*) FROM pg_catalog.pg_index AS i "  # noqa: S608
        "JOIN pg_catalog.pg_class AS c ON c.oid = i.indrelid "
        "JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace "
        "JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid AND a.attnum = i.indkey[0] "
        f"WHERE {where} AND c.relname = %s AND c.relkind IN ('r', 'p') AND a.attname = %s "
        "AND i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL"
    )
    return sql, [*([schema] if schema else []), table, key]


def _mysql_unique_key_query(schema: str | None, table: str, key: str) -> tuple[str, list]:
    # The schema of MySQL is the database. A unique index on a prefix of the column does not
    # make the column unique for ON DUPLICATE KEY (sub_part).
    where = "table_schema = %s" if schema else "table_schema = DATABASE()"
    sql = (
        "SELECT COUNT(*) FROM (SELECT index_name FROM information_schema.statistics "  # noqa: S608
        f"WHERE {where} AND table_name = %s AND non_unique = 0 GROUP BY index_name "
        "HAVING COUNT(*) = 1 AND MAX(column_name) = %s AND MAX(sub_part) IS NULL) AS u"
    )
    return sql, [*([schema] if schema else []), table, key]


def _sqlite_key_is_unique(cursor: Any, schema: str | None, table: str, key: str) -> bool:
    if schema not in (None, "main"):
        raise ConnectorError("SQLite connections have no schemas; name the table only.")
    cursor.execute(
        "SELECT p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p "
        "WHERE m.type = 'table' AND m.name = %s AND p.pk > 0",
        [table],
    )
    if [row[0] for row in cursor.fetchall()] == [key]:
        return True  # also the INTEGER PRIMARY KEY, which has no index of its own
    cursor.execute(
        "SELECT il.name FROM sqlite_master AS m, pragma_index_list(m.name) AS il "
        "WHERE m.type = 'table' AND m.name = %s AND il.\"unique\" AND NOT il.partial",
        [table],
    )
    for (index,) in cursor.fetchall():
        cursor.execute("SELECT name FROM pragma_index_info(%s)", [index])
        if [row[0] for row in cursor.fetchall()] == [key]:
            return True
    return False


_INTEGER_TYPES = {
    "int", "integer", "bigint", "smallint", "tinyint", "mediumint", "int2", "int4", "int8",
    "serial", "bigserial", "smallserial", "big int",
}  # fmt: skip
_DECIMAL_TYPES = {"numeric", "decimal", "number", "money", "smallmoney"}
_BINARY_TYPES = {"binary", "varbinary", "bytea", "rowversion"}


def key_caster(data_type: str) -> Callable[[str], Any]:
    """Turns an external id (the key's value as text) back into a value of the key column's
    type, given `Column.data_type` from `SQLConnector.describe()`: 'integer', 'INT(11)',
    'bigint', 'numeric', 'varchar(32)', 'uniqueidentifier'… int for integer types, Decimal for
    numeric ones, bytes from hex for binary ones (as `base.external_id` writes them), text
    otherwise. The function raises ValueError (or decimal.InvalidOperation) for text that is
    not of that type."""
    words = re.sub(r"\(.*?\)", " ", data_type.lower()).split()
    base = " ".join(w for w in words if w not in {"unsigned", "signed", "zerofill"})
    if base in _INTEGER_TYPES:
        return int
    if base in _DECIMAL_TYPES:
        return Decimal
    if base in _BINARY_TYPES:
        return bytes.fromhex
    return str
