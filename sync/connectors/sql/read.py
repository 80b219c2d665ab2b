"""Reading external SQL tables: pages in keyset order, their count and upper bound, and rows
fetched by key. Identifiers come validated against the catalogue and are quoted with their
quote character escaped (`identifiers`); every value is a parameter. SQL Server-only SQL lives
in `mssql`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from sync.connectors.sql import mssql
from sync.connectors.sql.identifiers import execute, qualified, quoter

FETCH_CHUNK = 1000  # keys per SELECT … IN (…) outside SQL Server
# PostgreSQL key columns (information_schema's data_type) whose values any external id can be
# cast to, with the array type `fetch_rows` binds their keys as (no length: nothing cut).
PG_TEXT_KEYS = {"character varying": "varchar", "text": "text", "character": "bpchar"}


def _keys_per_select(db: BaseDatabaseWrapper, kind: str) -> int:
    if kind == "mssql":
        return mssql.PARAMETER_BUDGET
    # SQLite reports 999 (older builds' limit); PostgreSQL and MySQL report none.
    return min(FETCH_CHUNK, db.features.max_query_params or FETCH_CHUNK)


def _keyset_where(
    q: Callable[[str], str],
    key: str,
    cursor_field: str | None,
    after: tuple | None,
    upper: object | None,
) -> tuple[str, list, str]:
    """WHERE clause, its parameters and the ORDER BY of a keyset read: the window rule of
    `cursors.in_window` in SQL (for delta reads), or key > the last key (full reads)."""
    where, params = [], []
    if cursor_field:
        d, k = q(cursor_field), q(key)
        where.append(f"{d} IS NOT NULL")
        if upper is not None:
            where[-1] += f" AND {d} <= %s"
            params.append(upper)
        if after is not None and after[0] is not None and after[1] is not None:
            # `d >= %s` first: a lower bound an index on (d, k) can start from (the OR alone
            # made databases walk the index from its first entry on every page: quadratic).
            where.append(f"{d} >= %s AND ({d} > %s OR ({d} = %s AND {k} > %s))")
            params += [after[0], after[0], after[0], after[1]]
        elif after is not None and after[0] is not None:  # no key stored: that cursor was read
            where.append(f"{d} > %s")
            params.append(after[0])
        order = f"{d}, {k}"
    else:
        if after is not None:
            where.append(f"{q(key)} > %s")
            params.append(after[1])
        order = q(key)
    return (f" WHERE {' AND '.join(where)}" if where else ""), params, order


def batch_query(
    db: BaseDatabaseWrapper,
    *,
    kind: str,
    object_name: str,
    columns: Sequence[str],
    key: str,
    cursor_field: str | None,
    after: tuple | None,
    upper: object | None,
    limit: int,
) -> tuple[str, list, list[str]]:
    """The SQL, parameters and selected columns of one select_batch page."""
    q = quoter(db)
    wanted = list(dict.fromkeys([key, *([cursor_field] if cursor_field else []), *columns]))
    condition, params, order = _keyset_where(q, key, cursor_field, after, upper)
    select = ", ".join(q(c) for c in wanted)
    table = qualified(db, object_name)
    if kind == "mssql":
        sql = mssql.top_page(select, table, condition, order, limit)
        return sql, [mssql.cursor_parameter(p) for p in params], wanted
    sql = f"SELECT {select} FROM {table}{condition} ORDER BY {order} LIMIT {int(limit)}"  # noqa: S608
    return sql, params, wanted


def select_batch(
    db: BaseDatabaseWrapper,
    *,
    kind: str,
    object_name: str,
    columns: Sequence[str],
    key: str,
    cursor_field: str | None,
    after: tuple | None,
    upper: object | None,
    limit: int,
) -> list[dict]:
    """One page in keyset order: by (cursor_field, key) for delta reads, bounded above by
    `upper` (fixed at run start); by key alone for full reads. Identifiers come validated
    against the catalogue and are quoted with their quote character escaped; every value is a
    parameter."""
    sql, params, wanted = batch_query(
        db,
        kind=kind,
        object_name=object_name,
        columns=columns,
        key=key,
        cursor_field=cursor_field,
        after=after,
        upper=upper,
        limit=limit,
    )
    with db.cursor() as cursor:
        execute(cursor, sql, params)
        return [dict(zip(wanted, row, strict=True)) for row in cursor.fetchall()]


def count_rows(
    db: BaseDatabaseWrapper,
    *,
    object_name: str,
    key: str,
    cursor_field: str | None,
    after: tuple | None,
    upper: object | None,
) -> int:
    """How many rows the same keyset read would return in all."""
    condition, params, _ = _keyset_where(quoter(db), key, cursor_field, after, upper)
    with db.cursor() as cursor:
        execute(cursor, f"SELECT COUNT(*) FROM {qualified(db, object_name)}{condition}", params)  # noqa: S608
        return int(cursor.fetchone()[0])


def max_value(db: BaseDatabaseWrapper, object_name: str, column: str) -> object | None:
    q = quoter(db)
    with db.cursor() as cursor:
        execute(cursor, f"SELECT MAX({q(column)}) FROM {qualified(db, object_name)}")  # noqa: S608
        return cursor.fetchone()[0]


def fetch_rows(
    db: BaseDatabaseWrapper,
    *,
    kind: str,
    object_name: str,
    key: str,
    columns: Sequence[str],
    keys: Sequence[Any],
    key_type: str | None = None,
) -> list[dict[str, Any]]:
    """The rows whose `key` is one of `keys`, as dicts of the key and `columns`; keys with no
    row are absent. Keys go as parameters, a chunk per statement within the parameter limit.
    `key_type`: the key column's data_type from the catalogue (PostgreSQL text keys are then
    looked up one index probe per key, see `_pg_probes`)."""
    wanted = list(dict.fromkeys([key, *columns]))
    q = quoter(db)
    select, table = ", ".join(q(c) for c in wanted), qualified(db, object_name)
    unique = [k for k in dict.fromkeys(keys) if k is not None]
    size = _keys_per_select(db, kind)
    found: list[dict[str, Any]] = []
    numbered = db.vendor == "postgresql"
    array = PG_TEXT_KEYS.get(key_type or "") if numbered else None
    with numbered_cursor(db) as cursor:
        for start in range(0, len(unique), size):
            chunk = unique[start : start + size]
            if array:
                execute(cursor, _pg_probes(select, table, q(key), array), [chunk])
            else:
                if numbered:
                    marks = ", ".join(f"${n}" for n in range(1, len(chunk) + 1))
                else:
                    marks = ", ".join(["%s"] * len(chunk))
                execute(cursor, f"SELECT {select} FROM {table} WHERE {q(key)} IN ({marks})", chunk)  # noqa: S608
            found += [dict(zip(wanted, row, strict=True)) for row in cursor.fetchall()]
    return found


def _pg_probes(select: str, table: str, key: str, array: str) -> str:
    """PostgreSQL: the rows of the keys in one array parameter, one index probe per key (a
    nested loop the planner cannot turn into a scan: OFFSET 0 keeps the subquery apart). An
    `IN` list of a thousand keys is planned from the table's statistics, and on a table that
    has none (a target filled since its last ANALYZE, autovacuum off) as a sequential scan of
    the whole table per batch: quadratic in a run that fills it (150,000 rows: 11 ms a
    statement against 2.6 ms)."""
    return (
        f"SELECT r.* FROM unnest($1::{array}[]) AS k(v) CROSS JOIN LATERAL "  # noqa: S608
        f"(SELECT {select} FROM {table} WHERE {key} = k.v OFFSET 0) AS r"
    )


@contextlib.contextmanager
def numbered_cursor(db: BaseDatabaseWrapper) -> Iterator[Any]:
    """Django's cursor; on PostgreSQL psycopg's RawCursor instead, for statements written
    with numbered placeholders (`$1`): the values bound by the server, the statement not
    parsed again in Python (psycopg does for each one longer than 4 kB), errors as Django's."""
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            yield cursor
        return
    import psycopg

    db.ensure_connection()
    with db.wrap_database_errors:
        cursor = psycopg.RawCursor(db.connection)
        try:
            yield cursor
        finally:
            cursor.close()
