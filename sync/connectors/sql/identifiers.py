"""Identifiers in the SQL the sync engine writes: one quoting function per dialect.

Table and column names come from configurations and are checked against the remote catalogue
on save and before every session, but a name that exists can still hold any character: an
ERP column really named `val" FROM secrets --` must be read as that column and nothing else.
Django's `ops.quote_name` does not escape (PostgreSQL and SQLite `"…"`, MySQL `` `…` ``,
mssql-django `[…]`; each also leaves a name it takes for quoted already untouched), so every
path (read, count, max, keyset, fetch, write, MERGE) quotes here instead: the closing quote
character doubled inside, as each dialect's grammar says.

A `%` inside is written `%%`: the drivers %-format a statement given parameters (psycopg,
MySQLdb, mssql-django, Django's SQLite wrapper, which turns `%s` into `?`), and would read
`50% off %s` as placeholders, or SQLite a column it no longer knows as a string constant.
Every statement runs through `execute`, which undoes that where nothing %-formats.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from sync.connectors.errors import ConnectorError

Quote = Callable[[str], str]


def _quoting(opening: str, closing: str) -> Quote:
    def quote(name: str) -> str:
        if not isinstance(name, str) or not name or "\x00" in name:
            raise ConnectorError(f"{name!r} is not a usable table or column name.")
        escaped = name.replace(closing, closing * 2).replace("%", "%%")
        return f"{opening}{escaped}{closing}"

    return quote


quote_postgresql = _quoting('"', '"')
quote_sqlite = _quoting('"', '"')
quote_mysql = _quoting("`", "`")
quote_mssql = _quoting("[", "]")

BY_VENDOR: dict[str, Quote] = {
    "postgresql": quote_postgresql,
    "sqlite": quote_sqlite,
    "mysql": quote_mysql,
    "microsoft": quote_mssql,
}


def execute(cursor: Any, sql: str, params: Sequence[Any] | None = None) -> None:
    """Run one statement of ours, names quoted here (`%` written `%%`) and values `%s`
    placeholders, or `$1` ones on psycopg's RawCursor. Django's cursors %-format a statement
    only when given parameters (mssql-django only when they are not empty either) and
    RawCursor never does: a statement that will not be formatted gets its `%` back. Our own
    SQL holds no `%` but in quoted names and placeholders."""
    if params and not _numbered(cursor):
        cursor.execute(sql, params)
    else:  # (looking for a `%` is a small part of a replace's scan of a whole upsert)
        cursor.execute(sql.replace("%%", "%") if "%" in sql else sql, params or None)


def _numbered(cursor: Any) -> bool:
    psycopg = sys.modules.get("psycopg")  # no RawCursor without it
    return psycopg is not None and isinstance(cursor, psycopg.RawCursor)


def quoter(db: BaseDatabaseWrapper) -> Quote:
    """The quoting function of the database `db` speaks to."""
    return BY_VENDOR[db.vendor]


# A table, view or schema name as configurations may give it: letters, digits, _, $, # and
# spaces inside; never quotes, dots, semicolons or comment markers (`[schema.]table` splits on
# the dot). Column names may be anything the catalogue holds: they are quoted with escaping.
IDENTIFIER = re.compile(r"^[A-Za-z_#@][A-Za-z0-9_$#@ ]{0,127}$")


def split_object_name(name: str) -> tuple[str | None, str]:
    """'schema.table' or 'table'; each part must look like an identifier."""
    parts = name.split(".")
    if len(parts) > 2 or not all(IDENTIFIER.match(part) for part in parts):
        raise ConnectorError(f"{name!r} is not a table or view name of the form [schema.]name.")
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


def qualified(db: BaseDatabaseWrapper, object_name: str) -> str:
    schema, table = split_object_name(object_name)
    q = quoter(db)
    return f"{q(schema)}.{q(table)}" if schema else q(table)
