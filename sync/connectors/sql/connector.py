"""SQL connections through Django's own database backends, created at run time: PostgreSQL,
MySQL/MariaDB, SQLite, and SQL Server through mssql-django. Identifiers are quoted by
`identifiers` (escaped, unlike the backends' own quoting); every value is a query parameter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

from django.db import ConnectionHandler
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend

from eqms_integration.mssql_options import mssql_options
from eqms_integration.text import plural
from sync.connectors.base import RemoteSpec
from sync.connectors.errors import ConnectorError, redact
from sync.connectors.sql.catalog import Column, TableCatalogue, key_caster
from sync.connectors.sql.identifiers import execute, split_object_name
from sync.connectors.sql.session import SQLSession

ENGINES = {
    "postgresql": "django.db.backends.postgresql",
    "mysql": "django.db.backends.mysql",
    "sqlite": "django.db.backends.sqlite3",
    "mssql": "mssql",
}


class SQLConnector:
    def __init__(
        self,
        *,
        kind: str,
        host: str,
        port: int | None,
        database: str,
        username: str,
        password: str,
        options: dict,
        timeout: int,
        alias: str,
        check_server: Callable[[BaseDatabaseWrapper], None] | None = None,
    ) -> None:
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
        # Asked right after connecting, before anything is read (targets.refuse_own_server).
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
                    execute(cursor, self._version_query())
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
        with self.open() as db:
            return self.describe_on(db, object_name)

    def describe_on(self, db: BaseDatabaseWrapper, object_name: str) -> list[Column]:
        """describe() over a connection already open (from open())."""
        schema, table = split_object_name(object_name)
        schema = schema or self.schema
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

    def _catalogue(self, db: BaseDatabaseWrapper, object_name: str) -> TableCatalogue:
        name = self.qualify(object_name)
        columns = {column.name: column for column in self.describe_on(db, name)}
        return TableCatalogue(db=db, kind=self.kind, object_name=name, columns=columns)

    @contextmanager
    def inspect(self, object_name: str) -> Iterator[TableCatalogue]:
        """The catalogue of one table or view over one connection, for checks beyond its
        columns (is the key unique) while it is open."""
        with self.open() as db:
            yield self._catalogue(db, object_name)

    @contextmanager
    def session(self, spec: RemoteSpec) -> Iterator[SQLSession]:
        """An open session on the table or view spec.object_name: one connection, the table
        described once (the session's `catalogue`). Checked again on every open (runs,
        previews, resolutions): a column renamed at the source fails here with its name,
        before any SQL names it (SQLite would even read a quoted name it does not know as a
        string constant)."""
        with self.open() as db:
            catalogue = self._catalogue(db, spec.object_name)
            spec = replace(spec, object_name=catalogue.object_name)
            columns = catalogue.columns
            wanted = [spec.key, *([spec.cursor_field] if spec.cursor_field else []), *spec.columns]
            missing = [name for name in dict.fromkeys(wanted) if name not in columns]
            if missing:
                raise ConnectorError(
                    f"Configuration no longer matches the source: {spec.object_name} has no "
                    f"{plural(len(missing), 'column')} {', '.join(map(repr, missing))} "
                    f"(columns: {', '.join(sorted(columns))})."
                )
            yield SQLSession(
                db,
                kind=self.kind,
                spec=spec,
                cast_key=key_caster(columns[spec.key].data_type),
                secrets=[self.password],
                catalogue=catalogue,
            )

    def _columns(
        self, db: BaseDatabaseWrapper, cursor, schema: str | None, table: str
    ) -> list[Column]:
        if self.kind == "sqlite":
            if schema not in (None, "main"):
                raise ConnectorError("SQLite connections have no schemas; name the table only.")
            execute(
                cursor,
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name = %s",
                [table],
            )
            if cursor.fetchone() is None:
                return []
            # The table-valued form of PRAGMA table_info takes the name as a parameter.
            execute(
                cursor,
                'SELECT name, type, "notnull" FROM pragma_table_info(%s) ORDER BY cid',
                [table],
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
        execute(cursor, query, params)
        return [Column(row[0], row[1], row[2] == "YES") for row in cursor.fetchall()]
