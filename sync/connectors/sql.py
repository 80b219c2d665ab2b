"""SQL connections through Django's own database backends, created at run time: PostgreSQL,
MySQL/MariaDB, SQLite, and SQL Server through mssql-django. Identifiers are quoted by
`identifiers` (escaped, unlike the backends' own quoting); every value is a query parameter."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import ConnectionHandler
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend

from eqms_integration.mssql_options import mssql_options
from sync.connectors import mssql
from sync.connectors.errors import ConnectorError, redact
from sync.connectors.identifiers import quoter

ENGINES = {
    "postgresql": "django.db.backends.postgresql",
    "mysql": "django.db.backends.mysql",
    "sqlite": "django.db.backends.sqlite3",
    "mssql": "mssql",
}
# A table, view or schema name as configurations may give it: letters, digits, _, $, # and
# spaces inside; never quotes, dots, semicolons or comment markers (`[schema.]table` splits on
# the dot). Column names may be anything the catalogue holds: they are quoted with escaping.
IDENTIFIER = re.compile(r"^[A-Za-z_#@][A-Za-z0-9_$#@ ]{0,127}$")


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    nullable: bool


def split_object_name(name: str) -> tuple[str | None, str]:
    """'schema.table' or 'table'; each part must look like an identifier."""
    parts = name.split(".")
    if len(parts) > 2 or not all(IDENTIFIER.match(part) for part in parts):
        raise ConnectorError(f"{name!r} is not a table or view name of the form [schema.]name.")
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


class SQLConnector:
    def __init__(
        self, *, kind: str, host: str, port: int | None, database: str, username: str,
        password: str, options: dict, timeout: int, alias: str,
        check_server: Callable[[BaseDatabaseWrapper], None] | None = None,
    ) -> None:  # fmt: skip
        if kind not in ENGINES:
            raise ConnectorError(f"{kind!r} is not an SQL connection kind.")
        self.kind = kind
        self.password = password
        self.username = username
        options = dict(options)
        self.schema = options.pop("schema", None)
        options.update(self._timeout_option(kind, timeout))
        if kind == "mssql":
            options = mssql_options(options)
        settings_dict = {
            "ENGINE": ENGINES[kind],
            "NAME": database,
            "USER": username,
            "PASSWORD": password,
            "HOST": host,
            "PORT": str(port or ""),
            "OPTIONS": options,
        }
        # Django's own defaults for every key a DATABASES entry may have.
        self.settings = ConnectionHandler().configure_settings({"default": settings_dict})[
            "default"
        ]
        self.alias = alias
        # Asked right after connecting, before anything is read (sql_targets.refuse_own_server).
        self.check_server = check_server

    @staticmethod
    def _timeout_option(kind: str, timeout: int) -> dict:
        return {
            "postgresql": {"connect_timeout": timeout},
            "mysql": {"connect_timeout": timeout},
            "sqlite": {"timeout": timeout},
            "mssql": {"connection_timeout": timeout},
        }[kind]

    def _fail(self, exc: BaseException) -> ConnectorError:
        text = f"{type(exc).__name__}: {exc}"
        return ConnectorError(redact(text, [self.password]))

    @contextmanager
    def open(self) -> Iterator[BaseDatabaseWrapper]:
        try:
            backend = load_backend(self.settings["ENGINE"])
            wrapper = backend.DatabaseWrapper(self.settings, self.alias)
            wrapper.ensure_connection()
        except Exception as exc:
            raise self._fail(exc) from None
        try:
            if self.check_server is not None:
                self.check_server(wrapper)
            yield wrapper
        finally:
            wrapper.close()

    def test(self) -> str:
        """Connect and run a trivial query; returns the server's version text."""
        with self.open() as db:
            try:
                with db.cursor() as cursor:
                    cursor.execute(self._version_query())
                    row = cursor.fetchone()
            except Exception as exc:
                raise self._fail(exc) from None
        return str(row[0]).splitlines()[0][:200]

    def _version_query(self) -> str:
        return {
            "postgresql": "SELECT version()",
            "mysql": "SELECT CONCAT('MySQL ', VERSION())",
            "sqlite": "SELECT 'SQLite ' || sqlite_version()",
            "mssql": "SELECT @@VERSION",
        }[self.kind]

    def qualify(self, object_name: str) -> str:
        """The name with the connection's default schema (option `schema`) when it has none,
        so reads and writes find the table that describe() found."""
        schema, table = split_object_name(object_name)
        return object_name if schema or not self.schema else f"{self.schema}.{table}"

    def describe(self, object_name: str) -> list[Column]:
        """The columns of a table or view, read from the database's catalogue. Raises
        ConnectorError naming the object when it does not exist."""
        schema, table = split_object_name(object_name)
        schema = schema or self.schema
        with self.open() as db:
            try:
                with db.cursor() as cursor:
                    columns = self._columns(db, cursor, schema, table)
            except ConnectorError:
                raise
            except Exception as exc:
                raise self._fail(exc) from None
        if not columns:
            raise ConnectorError(f"No table or view {object_name!r} in this database.")
        return columns

    def _columns(
        self, db: BaseDatabaseWrapper, cursor, schema: str | None, table: str
    ) -> list[Column]:
        if self.kind == "sqlite":
            if schema not in (None, "main"):
                raise ConnectorError("SQLite connections have no schemas; name the table only.")
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name = %s",
                [table],
            )
            if cursor.fetchone() is None:
                return []
            # The table-valued form of PRAGMA table_info takes the name as a parameter.
            cursor.execute(
                'SELECT name, type, "notnull" FROM pragma_table_info(%s) ORDER BY cid', [table]
            )
            return [Column(row[0], row[1] or "", not row[2]) for row in cursor.fetchall()]
        current = {
            "postgresql": "current_schema()",
            "mysql": "DATABASE()",
            "mssql": "SCHEMA_NAME()",
        }[self.kind]
        schema_test = "table_schema = %s" if schema else f"table_schema = {current}"
        params = [table, schema] if schema else [table]
        # Only fixed fragments are formatted in; the names are parameters.
        query = (
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "  # noqa: S608
            f"WHERE table_name = %s AND {schema_test} ORDER BY ordinal_position"
        )
        cursor.execute(query, params)
        return [Column(row[0], row[1], row[2] == "YES") for row in cursor.fetchall()]


def _qualified(db: BaseDatabaseWrapper, object_name: str) -> str:
    schema, table = split_object_name(object_name)
    q = quoter(db)
    return f"{q(schema)}.{q(table)}" if schema else q(table)


def _keyset_where(
    q: Callable[[str], str], key: str, cursor_field: str | None, after: tuple | None,
    upper: object | None,
) -> tuple[str, list, str]:  # fmt: skip
    """WHERE clause, its parameters and the ORDER BY of a keyset read."""
    where, params = [], []
    if cursor_field:
        d, k = q(cursor_field), q(key)
        where.append(f"{d} IS NOT NULL AND {d} <= %s")
        params.append(upper)
        if after is not None:
            where.append(f"({d} > %s OR ({d} = %s AND {k} > %s))")
            params += [after[0], after[0], after[1]]
        order = f"{d}, {k}"
    else:
        if after is not None:
            where.append(f"{q(key)} > %s")
            params.append(after[1])
        order = q(key)
    return (f" WHERE {' AND '.join(where)}" if where else ""), params, order


def batch_query(
    db: BaseDatabaseWrapper, *, kind: str, object_name: str, columns: Sequence[str], key: str,
    cursor_field: str | None, after: tuple | None, upper: object | None, limit: int,
) -> tuple[str, list, list[str]]:  # fmt: skip
    """The SQL, parameters and selected columns of one select_batch page."""
    q = quoter(db)
    wanted = list(dict.fromkeys([key, *([cursor_field] if cursor_field else []), *columns]))
    condition, params, order = _keyset_where(q, key, cursor_field, after, upper)
    select = ", ".join(q(c) for c in wanted)
    table = _qualified(db, object_name)
    if kind == "mssql":
        sql = mssql.top_page(select, table, condition, order, limit)
        return sql, [mssql.cursor_parameter(p) for p in params], wanted
    sql = f"SELECT {select} FROM {table}{condition} ORDER BY {order} LIMIT {int(limit)}"  # noqa: S608
    return sql, params, wanted


def select_batch(
    db: BaseDatabaseWrapper, *, kind: str, object_name: str, columns: Sequence[str], key: str,
    cursor_field: str | None, after: tuple | None, upper: object | None, limit: int,
) -> list[dict]:  # fmt: skip
    """One page in keyset order: by (cursor_field, key) for delta reads, bounded above by
    `upper` (fixed at run start); by key alone for full reads. Identifiers come validated
    against the catalogue and are quoted with their quote character escaped; every value is a
    parameter."""
    sql, params, wanted = batch_query(
        db, kind=kind, object_name=object_name, columns=columns, key=key,
        cursor_field=cursor_field, after=after, upper=upper, limit=limit,
    )  # fmt: skip
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return [dict(zip(wanted, row, strict=True)) for row in cursor.fetchall()]


def count_rows(
    db: BaseDatabaseWrapper, *, object_name: str, key: str, cursor_field: str | None,
    after: tuple | None, upper: object | None,
) -> int:  # fmt: skip
    """How many rows the same keyset read would return in all."""
    condition, params, _ = _keyset_where(quoter(db), key, cursor_field, after, upper)
    with db.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {_qualified(db, object_name)}{condition}", params)  # noqa: S608
        return int(cursor.fetchone()[0])


def max_value(db: BaseDatabaseWrapper, object_name: str, column: str) -> object | None:
    q = quoter(db)
    with db.cursor() as cursor:
        cursor.execute(f"SELECT MAX({q(column)}) FROM {_qualified(db, object_name)}")  # noqa: S608
        return cursor.fetchone()[0]
