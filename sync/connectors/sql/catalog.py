"""What the catalogue of an external SQL database says of one table or view: its columns, and
(for a configuration that writes) whether the key is unique and of what type it is."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from sync.connectors.errors import ConnectorError
from sync.connectors.sql import mssql
from sync.connectors.sql.identifiers import execute, split_object_name


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    nullable: bool


@dataclass
class TableCatalogue:
    """One table or view as its database's catalogue describes it, over a connection that is
    open (a session's, or one opened for a check): whoever needs the columns or the key's
    uniqueness asks here, so a run describes its table once."""

    db: BaseDatabaseWrapper
    kind: str
    object_name: str  # qualified with the connection's default schema
    columns: dict[str, Column]
    _unique: dict[str, bool] = field(default_factory=dict)

    def key_is_unique(self, key: str) -> bool:
        if key not in self._unique:
            self._unique[key] = key_is_unique(self.db, object_name=self.object_name, key=key)
        return self._unique[key]


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
        execute(cursor, *query(schema, table, key))
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
    execute(
        cursor,
        "SELECT p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p "
        "WHERE m.type = 'table' AND m.name = %s AND p.pk > 0",
        [table],
    )
    if [row[0] for row in cursor.fetchall()] == [key]:
        return True  # also the INTEGER PRIMARY KEY, which has no index of its own
    execute(
        cursor,
        "SELECT il.name FROM sqlite_master AS m, pragma_index_list(m.name) AS il "
        "WHERE m.type = 'table' AND m.name = %s AND il.\"unique\" AND NOT il.partial",
        [table],
    )
    for (index,) in cursor.fetchall():
        execute(cursor, "SELECT name FROM pragma_index_info(%s)", [index])
        if [row[0] for row in cursor.fetchall()] == [key]:
            return True
    return False


_INTEGER_TYPES = {
    "int",
    "integer",
    "bigint",
    "smallint",
    "tinyint",
    "mediumint",
    "int2",
    "int4",
    "int8",
    "serial",
    "bigserial",
    "smallserial",
    "big int",
}
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
