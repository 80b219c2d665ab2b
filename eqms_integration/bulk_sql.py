"""Many rows of one model in one statement per batch, the fastest way each database of the
service allows: the bulk writes of sync runs (QMS records, links) and of their audit events.

Django's `bulk_create` compiles every row and, on PostgreSQL, binds its arrays client-side in
Python; `bulk_update` builds a `CASE WHEN` per field and row. Here:

- PostgreSQL: one `INSERT … SELECT … FROM unnest(%s::type[], …)` (or `UPDATE … FROM
  unnest(…)`) with the arrays bound server-side in binary, whatever the number of rows;
- SQLite: multi-row `VALUES` within its real variable limit (`INSERT … ON CONFLICT … RETURNING`,
  `WITH v(…) AS (VALUES …) UPDATE … FROM v`);
- SQL Server: `INSERT … OUTPUT … VALUES` / `MERGE … WITH (HOLDLOCK) … OUTPUT`, at most 1,000
  rows per VALUES and 2,000 parameters per statement (the server's limit is 2,100; the driver's
  sp_executesql takes a few of its own);
- any other database: None, and the caller uses the ORM.

Values arrive as the model fields' Python values (`field.get_db_prep_save` is applied here, so a
JSONField takes a dict). Column names come from model metadata; they are still checked and
quoted with the quote character doubled inside, as sync.connectors.identifiers does for the
names configurations give. Runs in the caller's transaction; a database error is Django's.
"""

from __future__ import annotations

import datetime
import itertools
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction

from eqms_integration.json_encoding import fast_encode

MSSQL_VALUES_ROWS = 1000
MSSQL_PARAMETERS = 2000
SQLITE_DEFAULT_VARIABLES = 32766  # SQLite >= 3.32 (Django reports 999, the old limit)
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
# PostgreSQL array element types bound as such (binary); everything else goes as text and is
# cast by the INSERT/UPDATE assignment (so an over-long varchar still fails, never truncates).
_PG_ARRAY_TYPES = {
    "date": "date",
    "timestamp with time zone": "timestamptz",
    "bigint": "bigint",
    "integer": "integer",
    "smallint": "smallint",
    "boolean": "boolean",
    "double precision": "double precision",
}
_PG_CAST_TYPES = {"jsonb": "jsonb", "inet": "inet", "uuid": "uuid"}

Row = Sequence[Any]


def supported() -> bool:
    return connection.vendor in ("postgresql", "sqlite", "microsoft")


def quote(name: str, vendor: str | None = None) -> str:
    """A table or column name checked and quoted for `vendor` (default: the service's
    database), its closing quote character doubled inside."""
    if not isinstance(name, str) or not _COLUMN.match(name):
        raise ValueError(f"{name!r} is not a column or table name this module writes.")
    vendor = vendor or connection.vendor
    opening, closing = ("[", "]") if vendor == "microsoft" else ('"', '"')
    return f"{opening}{name.replace(closing, closing * 2)}{closing}"


def _fields(model: type[models.Model], columns: Sequence[str]) -> list[models.Field]:
    by_column = {field.column: field for field in model._meta.concrete_fields}
    return [by_column[column] for column in columns]


def _plain(field: models.Field, vendor: str) -> bool:
    """Fields whose Python values the driver takes as they are (for COPY on PostgreSQL:
    aware datetimes, dates, text of an address)."""
    if isinstance(field, models.JSONField):
        return False
    if vendor == "postgresql":
        return True
    return isinstance(field, models.CharField | models.TextField | models.IntegerField) and not (
        isinstance(field, models.GenericIPAddressField)
    )


# json.dumps(value), its C encoder made once.
_dumps = fast_encode(json.JSONEncoder())


def json_text(encoder: Any) -> Any:
    """A JSONField's value -> its text, as this module writes it (for rows given prepared)."""
    if encoder not in (None, DjangoJSONEncoder):
        return lambda value: None if value is None else json.dumps(value, cls=encoder)

    def text(value: Any) -> str | None:
        # Plain JSON through json's own cached encoder (the same text: DjangoJSONEncoder only
        # adds types JSON has not); a new encoder per value only for the values that need it.
        if value is None:
            return None
        try:
            return _dumps(value)
        except TypeError:
            return json.dumps(value, cls=encoder)

    return text


def _repeating(convert: Any) -> Any:
    """`convert`, remembering its last value: a batch's rows share one object for the time
    they were written at (events, records), converted once instead of once per row. The same
    object gives the same result (`is`, not `==`: equal datetimes may differ in zone)."""
    last: list[Any] = [_UNSET, None]

    def converted(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, convert(value)
        return last[1]

    return converted


_UNSET = object()


def _prepared(fields: list[models.Field], rows: Sequence[Row]) -> list[list[Any]]:
    """Rows as the database takes them: JSON as its text, the rest as Django prepares it."""
    return list(_preparing(fields, rows))


def copy_time(value: Any) -> Any:
    """A datetime as COPY's text takes it (ISO 8601, with its offset when it has one): the
    same value the driver would send, in a third of its time. Anything else as it is."""
    return value.isoformat() if type(value) is datetime.datetime else value


def _preparing(
    fields: list[models.Field], rows: Iterable[Row], *, copy: bool = False
) -> Iterator[list[Any]]:
    """_prepared one row at a time; `copy`: for COPY (times as their text)."""
    db = connections[DEFAULT_DB_ALIAS]  # not the proxy: it costs an attribute look-up a value
    converters = []
    for index, field in enumerate(fields):
        if isinstance(field, models.JSONField):
            converters.append((index, json_text(field.encoder)))
        elif copy and isinstance(field, models.DateTimeField):
            # A batch's rows share the moment they are written at: its text made once.
            converters.append((index, _repeating(copy_time)))
        elif not _plain(field, db.vendor):
            converters.append((index, _repeating(lambda v, f=field: f.get_db_prep_save(v, db))))
    for row in rows:
        row = list(row)
        for index, convert in converters:
            row[index] = convert(row[index])
        yield row


def _chunks(rows: Sequence[Row], per_row: int) -> list[Sequence[Row]]:
    vendor = connection.vendor
    if vendor == "microsoft":
        size = max(1, min(MSSQL_VALUES_ROWS, MSSQL_PARAMETERS // max(1, per_row)))
    elif vendor == "sqlite":
        size = max(1, _sqlite_variables() // max(1, per_row))
    else:
        return [rows]
    return [rows[start : start + size] for start in range(0, len(rows), size)]


def _sqlite_variables() -> int:
    connection.ensure_connection()
    try:
        import sqlite3

        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    except (AttributeError, ImportError):  # Python < 3.11
        return connection.features.max_query_params or SQLITE_DEFAULT_VARIABLES


def _execute(sql: str, params: list[Any], *, fetch: bool, binary: bool = True) -> list[tuple]:
    if connection.vendor == "postgresql":
        import psycopg

        connection.ensure_connection()
        with connection.wrap_database_errors:
            # Server-side binding in binary: Django's cursors bind client-side, in Python.
            cursor = psycopg.Cursor(connection.connection)
            try:
                cursor.execute(sql, params, binary=binary)
                return cursor.fetchall() if fetch else []
            finally:
                cursor.close()
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        with connection.wrap_database_errors:
            # sqlite3's own cursor, with its own "?" marks: Django's wrapper turns each "%s"
            # of a statement into "?" with a regular expression, run over the tens of
            # thousands of marks of a batch's statement (the only "%s" here are the marks).
            cursor = connection.connection.execute(sql.replace("%s", "?"), params)
            try:
                return cursor.fetchall() if fetch else []
            finally:
                cursor.close()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall()) if fetch else []


def _pg_stage(model: type[models.Model], columns: list[str], rows: list[list[Any]]) -> str:
    """COPY the rows into a temporary table of the target's column types (emptied at commit;
    created again when a rolled-back savepoint took it) and return its quoted name. COPY
    formats rows in C; arrays for `unnest` would be dumped in Python, element by element."""
    import hashlib

    import psycopg

    raw = connection.connection
    digest = hashlib.sha256(f"{model._meta.db_table}:{','.join(columns)}".encode()).hexdigest()
    name = quote(f"_bulk_{digest[:24]}")
    with connection.wrap_database_errors:
        cursor = psycopg.Cursor(raw)
        try:
            select = ", ".join(quote(c) for c in columns)
            cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} ON COMMIT DELETE ROWS AS "  # noqa: S608
                f"SELECT {select} FROM {quote(model._meta.db_table)} WITH NO DATA"
            )
            with cursor.copy(f"COPY {name} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()
    return name


def _pg_insert(
    model: type[models.Model], columns: list[str], rows: list[list[Any]], tail: str, fetch: bool
) -> list[tuple]:
    staged = _pg_stage(model, columns, rows)
    names = ", ".join(quote(c) for c in columns)
    # The staging rows leave in the same statement, so the table is empty for the next.
    sql = (
        f"WITH s AS (DELETE FROM {staged} RETURNING *) "  # noqa: S608
        f"INSERT INTO {quote(model._meta.db_table)} ({names}) SELECT {names} FROM s{tail}"
    )
    return _execute(sql, [], fetch=fetch)


def insert(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Row],
    *,
    conflict: Sequence[str] = (),
    update: Sequence[str] = (),
    returning: Sequence[str] = (),
) -> list[tuple] | None:
    """INSERT `rows` (tuples in the order of `columns`). With `conflict` (the columns of a
    unique constraint): rows that collide are skipped, or, with `update`, those columns are
    set from the new row. Returns the `returning` columns of the rows written (in no
    particular order: return a key with them), [] without `returning`, None when this
    database has no bulk path here."""
    if not supported():
        return None
    if not rows:
        return []
    columns, conflict, update, returning = (list(x) for x in (columns, conflict, update, returning))
    fields = _fields(model, columns)
    prepared = _prepared(fields, rows)
    table = quote(model._meta.db_table)
    names = ", ".join(quote(c) for c in columns)
    fetch = bool(returning)
    if connection.vendor == "microsoft":
        return _mssql_insert(table, columns, prepared, conflict, update, returning)
    tail = ""
    if conflict:
        target = ", ".join(quote(c) for c in conflict)
        if update:
            sets = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in update)
            tail = f" ON CONFLICT ({target}) DO UPDATE SET {sets}"
        else:
            tail = f" ON CONFLICT ({target}) DO NOTHING"
    back = f" RETURNING {', '.join(quote(c) for c in returning)}" if returning else ""
    if connection.vendor == "postgresql":
        with transaction.atomic():  # the staging table keeps its rows only within one
            return _pg_insert(model, columns, prepared, f"{tail}{back}", fetch)
    found: list[tuple] = []
    marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
    for chunk in _chunks(prepared, len(columns)):
        # SQLite reads `INSERT … SELECT … ON CONFLICT` ambiguously, hence VALUES.
        sql = f"INSERT INTO {table} ({names}) VALUES {', '.join([marks] * len(chunk))}{tail}{back}"  # noqa: S608
        found += _execute(sql, [v for row in chunk for v in row], fetch=fetch)
    return found


def _mssql_insert(
    table: str,
    columns: list[str],
    rows: list[list[Any]],
    conflict: list[str],
    update: list[str],
    returning: list[str],
) -> list[tuple]:
    found: list[tuple] = []
    for sql, params in mssql_insert_statements(table, columns, rows, conflict, update, returning):
        found += _execute(sql, params, fetch=bool(returning))
    return found


def _ms(name: str) -> str:
    return quote(name, "microsoft")


def mssql_insert_statements(
    table: str,
    columns: list[str],
    rows: Sequence[Row],
    conflict: list[str],
    update: list[str],
    returning: list[str],
) -> list[tuple[str, list[Any]]]:
    """The SQL Server statements for insert(): plain `INSERT … OUTPUT … VALUES`, or a MERGE on
    the conflict columns (HOLDLOCK: two concurrent MERGEs cannot both insert a key). `table`
    is quoted already. Pure, for golden tests."""
    names = ", ".join(_ms(c) for c in columns)
    marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
    output = " OUTPUT " + ", ".join(f"INSERTED.{_ms(c)}" for c in returning) if returning else ""
    statements = []
    for chunk in _mssql_chunks(rows, len(columns)):
        values = ", ".join([marks] * len(chunk))
        params = [v for row in chunk for v in row]
        if not conflict:
            sql = f"INSERT INTO {table} ({names}){output} VALUES {values};"  # noqa: S608
        else:
            on = " AND ".join(f"t.{_ms(c)} = s.{_ms(c)}" for c in conflict)
            sql = (
                f"MERGE INTO {table} WITH (HOLDLOCK) AS t USING (VALUES {values}) "
                f"AS s ({names}) ON {on}"
            )
            if update:
                sets = ", ".join(f"t.{_ms(c)} = s.{_ms(c)}" for c in update)
                sql += f" WHEN MATCHED THEN UPDATE SET {sets}"
            inserted = ", ".join(f"s.{_ms(c)}" for c in columns)
            sql += f" WHEN NOT MATCHED THEN INSERT ({names}) VALUES ({inserted}){output};"  # noqa: S608
        statements.append((sql, params))
    return statements


def _mssql_chunks(rows: Sequence[Row], per_row: int) -> list[Sequence[Row]]:
    size = max(1, min(MSSQL_VALUES_ROWS, MSSQL_PARAMETERS // max(1, per_row)))
    return [rows[start : start + size] for start in range(0, len(rows), size)]


def update(
    model: type[models.Model], key: str, columns: Sequence[str], rows: Sequence[Row]
) -> int | None:
    """UPDATE the rows whose `key` column is each row's first value, setting `columns` (the
    rest of the row, in order) and nothing else. Returns the rows given (None: no bulk path
    on this database)."""
    if not supported():
        return None
    if not rows:
        return 0
    all_columns = [key, *columns]
    fields = _fields(model, all_columns)
    prepared = _prepared(fields, rows)
    table = quote(model._meta.db_table)
    k = quote(key)
    if connection.vendor == "postgresql":
        sets = ", ".join(f"{quote(c)} = s.{quote(c)}" for c in columns)
        with transaction.atomic():  # the staging table keeps its rows only within one
            staged = _pg_stage(model, all_columns, prepared)
            sql = (
                f"WITH s AS (DELETE FROM {staged} RETURNING *) "  # noqa: S608
                f"UPDATE {table} AS t SET {sets} FROM s WHERE t.{k} = s.{k}"
            )
            _execute(sql, [], fetch=False)
        return len(rows)
    if connection.vendor == "microsoft":
        for sql, params in mssql_update_statements(table, key, list(columns), prepared):
            _execute(sql, params, fetch=False)
        return len(rows)
    names = ", ".join(quote(c) for c in all_columns)
    sets = ", ".join(f"{quote(c)} = v.{quote(c)}" for c in columns)
    marks = "(" + ", ".join(["%s"] * len(all_columns)) + ")"
    for chunk in _chunks(prepared, len(all_columns)):
        values = ", ".join([marks] * len(chunk))
        sql = (
            f"WITH v ({names}) AS (VALUES {values}) "  # noqa: S608
            f"UPDATE {table} SET {sets} FROM v WHERE {table}.{k} = v.{k}"
        )
        _execute(sql, [v for row in chunk for v in row], fetch=False)
    return len(rows)


def mssql_update_statements(
    table: str, key: str, columns: list[str], rows: Sequence[Row]
) -> list[tuple[str, list[Any]]]:
    """SQL Server: `UPDATE t SET … FROM t JOIN (VALUES …) AS s (…) ON …`, within the limits.
    Pure, for golden tests."""
    all_columns = [key, *columns]
    names = ", ".join(_ms(c) for c in all_columns)
    marks = "(" + ", ".join(["%s"] * len(all_columns)) + ")"
    sets = ", ".join(f"t.{_ms(c)} = s.{_ms(c)}" for c in columns)
    statements = []
    for chunk in _mssql_chunks(rows, len(all_columns)):
        values = ", ".join([marks] * len(chunk))
        sql = (
            f"UPDATE t SET {sets} FROM {table} AS t JOIN (VALUES {values}) AS s ({names}) "  # noqa: S608
            f"ON t.{_ms(key)} = s.{_ms(key)};"
        )
        statements.append((sql, [v for row in chunk for v in row]))
    return statements


def _array_literal(values: Sequence[Any]) -> str:
    """An array's text form, built in one join (psycopg dumps list elements in Python)."""
    quoted = ('"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values)
    return "{" + ",".join(quoted) + "}"


def fetch_in(
    model: type[models.Model],
    column: str,
    values: Sequence[Any],
    *,
    where: dict[str, Any] | None = None,
) -> list[models.Model] | None:
    """The rows whose `column` is one of `values` (and whose `where` columns equal theirs),
    as model instances. PostgreSQL only: one `= ANY(%s)` with the array bound server-side
    (an `IN (…)` of a thousand literals costs the server more to parse and plan than to run);
    None elsewhere, where the ORM's chunked `__in` does as well."""
    if connection.vendor != "postgresql":
        return None
    if not values:
        return []
    fields = list(model._meta.concrete_fields)
    by_column = {field.column: field for field in fields}
    key = by_column[column]
    base = (key.db_type(connection) or "text").split("(")[0].strip()
    array = _PG_ARRAY_TYPES.get(base, "text")
    conditions, params = [], []
    for name, value in (where or {}).items():
        conditions.append(f"{quote(name)} = %s")
        params.append(value)
    conditions.append(f"{quote(column)} = ANY(%s::{array}[])")
    params.append(_array_literal(values))
    select = ", ".join(quote(field.column) for field in fields)
    sql = (
        f"SELECT {select} FROM {quote(model._meta.db_table)} "  # noqa: S608
        f"WHERE {' AND '.join(conditions)}"
    )
    converters = [
        (index, field.from_db_value)
        for index, field in enumerate(fields)
        if hasattr(field, "from_db_value")
    ]
    names = [field.attname for field in fields]
    found = []
    # Text results: Django's loaders (JSON as text for from_db_value) apply to them.
    for row in _execute(sql, params, fetch=True, binary=False):
        if converters:
            row = list(row)
            for index, convert in converters:
                row[index] = convert(row[index], None, connection)
        found.append(model.from_db(connection.alias, names, row))
    return found


def draw_ids(model: type[models.Model], count: int) -> list[int] | None:
    """PostgreSQL: `count` new primary keys from the table's sequence, in ascending order (one
    round trip); None on other databases."""
    if connection.vendor != "postgresql":
        return None
    if count <= 0:
        return []
    table, pk = model._meta.db_table, model._meta.pk.column
    # The sequence is looked up once (a sub-select, as a regclass): in the select list itself
    # pg_get_serial_sequence and the cast ran for every id, four fifths of the statement.
    rows = _execute(
        "SELECT nextval((SELECT pg_get_serial_sequence(%s, %s)::regclass)) "
        "FROM generate_series(1, %s)",
        [table, pk, count],
        fetch=True,
    )
    return sorted(row[0] for row in rows)


def copy_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[Row],
    *,
    ids: bool = False,
    prepared: bool = False,
) -> list[int] | None:
    """PostgreSQL: COPY new rows straight into the table (no staging, no conflict handling:
    a row the table's constraints refuse fails the statement with Django's IntegrityError).
    With `ids`, primary keys are drawn from the table's sequence first (one round trip) and
    returned in row order; `columns` must then not name the key. `prepared`: the rows are in
    the database's form already (JSON as its text), taken as they are. None on other
    databases.

    `rows` may be a generator: each row is made as the COPY goes, so the server stores the
    rows sent while the next are made (an exception it raises stops the COPY, and nothing of
    it is kept)."""
    if connection.vendor != "postgresql":
        return None
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return []
    rows = itertools.chain([first], rows)
    import psycopg

    columns = list(columns)
    if not prepared:
        rows = _preparing(_fields(model, columns), rows, copy=True)
    table = model._meta.db_table
    pk = model._meta.pk.column
    drawn: list[int] = []
    connection.ensure_connection()
    with transaction.atomic(), connection.wrap_database_errors:
        cursor = psycopg.Cursor(connection.connection)
        try:
            if ids:
                rows = list(rows)
                drawn = draw_ids(model, len(rows)) or []
                columns = [pk, *columns]
                rows = [[key, *row] for key, row in zip(drawn, rows, strict=True)]
            names = ", ".join(quote(c) for c in columns)
            with cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()
    return drawn
