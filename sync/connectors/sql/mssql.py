"""The SQL Server dialect: every piece of SQL that only SQL Server speaks, and its limits.

Identifiers are quoted by `identifiers.quote_mssql` (`[name]`, a `]` inside doubled), which the
callers pass in as `quote`; mssql-django's own `quote_name` does not escape a `]`. Values are
always parameters (`%s`, which mssql-django turns into `?`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

Quote = Callable[[str], str]

MAX_PARAMETERS = 2100  # per request, a hard server limit
MAX_VALUES_ROWS = 1000  # per table value constructor (VALUES (…), (…), …)
# What one statement may actually use: the driver's sp_executesql call takes parameters of its
# own (mssql-django caps bulk inserts at 2,050 after seeing 2,098 refused).
PARAMETER_BUDGET = 2000


def rows_per_statement(column_count: int) -> int:
    """How many rows of `column_count` values one MERGE (or multi-row INSERT) may carry."""
    return max(1, min(MAX_VALUES_ROWS, PARAMETER_BUDGET // max(1, column_count)))


def top_page(select: str, table: str, condition: str, order: str, limit: int) -> str:
    """One keyset page: SQL Server has no LIMIT; `TOP (n)` goes right after SELECT."""
    return f"SELECT TOP ({int(limit)}) {select} FROM {table}{condition} ORDER BY {order}"  # noqa: S608


def cursor_parameter(value: Any) -> Any:
    """A cursor value as a parameter SQL Server can compare with the cursor column.

    A `rowversion` (alias `timestamp`) column comes back from pyodbc and mssql-python as 8
    bytes; `[rv] > ?` compares it byte by byte only when the parameter is binary too (bytes
    are bound as varbinary(8)): a hex text would be converted character by character and
    compare wrongly without any error. `sync.connectors.cursors` stores such a value as
    `{"bytes": "<hex>"}` and decodes it back to bytes; this accepts that JSON form as well
    as bytes-like values, so a stored cursor always reaches the server as binary.
    """
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, Mapping) and set(value) == {"bytes"}:
        return bytes.fromhex(value["bytes"])
    return value


def merge_statement(
    quote: Quote, table: str, key: str, rows: Sequence[Mapping[str, Any]]
) -> tuple[str, list[Any]]:
    """An idempotent upsert of `rows` (all with the same columns, `key` among them) into the
    already quoted `table`. MERGE refuses to touch one target row twice, so duplicate keys are
    dropped first, the last row winning. HOLDLOCK (serializable on the key range) keeps two
    concurrent MERGEs from both inserting the same new key. Keys equal only under the
    server's (usually case-insensitive) collation, 'abc' and 'ABC', still make the MERGE fail;
    `upsert_rows` then writes the rows one by one. The caller keeps the statement within
    `rows_per_statement(len(columns))` rows."""
    unique = list({row[key]: row for row in rows}.values())
    columns = list(unique[0])
    others = [c for c in columns if c != key]
    marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
    names = ", ".join(quote(c) for c in columns)
    k = quote(key)
    sql = (
        f"MERGE INTO {table} WITH (HOLDLOCK) AS t "
        f"USING (VALUES {', '.join([marks] * len(unique))}) AS s ({names}) "
        f"ON t.{k} = s.{k}"
    )
    if others:  # a key-only table has nothing to update
        sets = ", ".join(f"t.{quote(c)} = s.{quote(c)}" for c in others)
        sql += f" WHEN MATCHED THEN UPDATE SET {sets}"
    inserted = ", ".join(f"s.{quote(c)}" for c in columns)
    sql += f" WHEN NOT MATCHED THEN INSERT ({names}) VALUES ({inserted});"  # noqa: S608
    return sql, [row[c] for row in unique for c in columns]


def unique_key_query(schema: str | None, table: str, column: str) -> tuple[str, list[Any]]:
    """How many unfiltered unique indexes (primary keys and unique constraints are backed by
    one) of a base table have exactly `column` as their only key column. Views are not in
    sys.tables, so they count none. mssql-django's introspection reads the schema from a
    global setting (SCHEMA_TO_INSPECT), hence the catalogue query."""
    # Only this fixed fragment is formatted in; SCHEMA_ID() is the caller's default schema.
    schema_test = "SCHEMA_ID(%s)" if schema else "SCHEMA_ID()"
    sql = (
        "SELECT COUNT(*) FROM sys.indexes AS i "  # noqa: S608
        "JOIN sys.tables AS t ON t.object_id = i.object_id "
        f"WHERE t.schema_id = {schema_test} AND t.name = %s "
        "AND i.is_unique = 1 AND i.has_filter = 0 "
        "AND (SELECT COUNT(*) FROM sys.index_columns AS ic WHERE ic.object_id = i.object_id "
        "AND ic.index_id = i.index_id AND ic.is_included_column = 0) = 1 "
        "AND EXISTS (SELECT 1 FROM sys.index_columns AS ic JOIN sys.columns AS c "
        "ON c.object_id = ic.object_id AND c.column_id = ic.column_id "
        "WHERE ic.object_id = i.object_id AND ic.index_id = i.index_id "
        "AND ic.is_included_column = 0 AND c.name = %s)"
    )
    return sql, [*([schema] if schema else []), table, column]
