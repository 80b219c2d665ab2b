"""The SQL Server dialect, golden: the exact statements and parameters built for MERGE upserts and
TOP pages, kept within the 2,100-parameter and 1,000-row limits, quoted with `]` escaped (which
mssql-django's own quote_name does not do) and matching what mssql-django's own compiler writes.
No server is needed (or contacted)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import ConnectionHandler
from django.db.models import Q

from sync.connectors import cursors
from sync.connectors.errors import ConnectorError
from sync.connectors.sql import mssql
from sync.connectors.sql.identifiers import qualified, quote_mssql, split_object_name
from sync.connectors.sql.read import batch_query, fetch_rows
from sync.connectors.sql.write import upsert_rows
from tests.conftest import mssql_backend

RV = bytes.fromhex("00000000000007d1")  # a rowversion as pyodbc / mssql-python return it


@pytest.fixture(scope="module")
def sqlserver():
    """mssql-django's DatabaseWrapper, built but never connected."""
    DatabaseWrapper = mssql_backend().DatabaseWrapper
    database = {"ENGINE": "mssql", "NAME": "erp", "HOST": "sqlserver.invalid", "USER": "sync"}
    settings = ConnectionHandler().configure_settings({"default": database})["default"]
    wrapper = DatabaseWrapper(settings, "golden-sql")
    # The compiler asks the server for its version; there is none, so name one.
    wrapper.__dict__["sql_server_version"] = 2019
    wrapper.__dict__["to_azure_sql_db"] = False
    return wrapper


def test_mssql_djangos_quote_name_does_not_escape_so_ours_doubles_the_bracket(sqlserver):
    theirs = sqlserver.ops.quote_name

    assert theirs("a]b") == "[a]b]"  # not escaped: `b]` would be SQL
    assert theirs("[a]; DROP TABLE x; --]") == "[a]; DROP TABLE x; --]"  # taken as quoted
    assert quote_mssql("Order Lines") == "[Order Lines]"
    assert quote_mssql("a]b") == "[a]]b]"
    assert quote_mssql("[Order Lines]") == "[[Order Lines]]]"  # a name, whatever it holds
    assert qualified(sqlserver, "dbo.Order Lines") == "[dbo].[Order Lines]"
    for name in ["a]b", "[dbo].[Parts]", 'x"y', "a.b.c", "t; DROP TABLE x", "t--"]:
        with pytest.raises(ConnectorError):
            split_object_name(name)


INJECTION = "val] FROM secrets --"


def test_a_column_named_like_the_issues_injection_stays_one_identifier_in_a_page(sqlserver):
    sql, params, columns = batch_query(
        sqlserver,
        kind="mssql",
        object_name="dbo.Parts",
        columns=[INJECTION, "a]]b"],
        key="no]",
        cursor_field="rv]",
        after=(RV, "P-1"),
        upper=RV,
        limit=10,
    )

    assert sql == (
        "SELECT TOP (10) [no]]], [rv]]], [val]] FROM secrets --], [a]]]]b] FROM [dbo].[Parts] "
        "WHERE [rv]]] IS NOT NULL AND [rv]]] <= %s AND [rv]]] >= %s AND ([rv]]] > %s OR "
        "([rv]]] = %s AND [no]]] > %s)) ORDER BY [rv]]], [no]]]"
    )
    assert columns == ["no]", "rv]", INJECTION, "a]]b"] and len(params) == 5


def test_a_merge_and_a_fetch_of_such_columns_quote_every_name(sqlserver):
    server = RecordingSQLServer(sqlserver)

    upsert_rows(
        server, kind="mssql", object_name="Parts", key="no]", rows=[{"no]": "P-1", INJECTION: "x"}]
    )
    fetch_rows(
        server, kind="mssql", object_name="Parts", key="no]", columns=[INJECTION], keys=["P-1"]
    )

    (merge, merge_params), (select, select_params) = server.statements
    assert merge == (
        "MERGE INTO [Parts] WITH (HOLDLOCK) AS t USING (VALUES (%s, %s)) AS s ([no]]], "
        "[val]] FROM secrets --]) ON t.[no]]] = s.[no]]] WHEN MATCHED THEN UPDATE SET "
        "t.[val]] FROM secrets --] = s.[val]] FROM secrets --] WHEN NOT MATCHED THEN INSERT "
        "([no]]], [val]] FROM secrets --]) VALUES (s.[no]]], s.[val]] FROM secrets --]);"
    )
    assert select == "SELECT [no]]], [val]] FROM secrets --] FROM [Parts] WHERE [no]]] IN (%s)"
    assert (merge_params, select_params) == (["P-1", "x"], ["P-1"])


def test_a_merge_upserts_with_holdlock_and_the_last_of_duplicate_keys_wins(sqlserver):
    rows = [
        {"part_no": "P-1", "description": "first", "qty": 1},
        {"part_no": "P-2", "description": "other", "qty": 2},
        {"part_no": "P-1", "description": "last", "qty": 3},
    ]

    sql, params = mssql.merge_statement(
        quote_mssql, qualified(sqlserver, "dbo.Parts"), "part_no", rows
    )

    assert sql == (
        "MERGE INTO [dbo].[Parts] WITH (HOLDLOCK) AS t "
        "USING (VALUES (%s, %s, %s), (%s, %s, %s)) AS s ([part_no], [description], [qty]) "
        "ON t.[part_no] = s.[part_no] "
        "WHEN MATCHED THEN UPDATE SET t.[description] = s.[description], t.[qty] = s.[qty] "
        "WHEN NOT MATCHED THEN INSERT ([part_no], [description], [qty]) "
        "VALUES (s.[part_no], s.[description], s.[qty]);"
    )
    assert params == ["P-1", "last", 3, "P-2", "other", 2]


def test_a_merge_of_key_only_rows_inserts_the_missing_keys_and_updates_nothing(sqlserver):
    sql, params = mssql.merge_statement(quote_mssql, "[Tags]", "tag", [{"tag": "a"}, {"tag": "b"}])

    assert sql == (
        "MERGE INTO [Tags] WITH (HOLDLOCK) AS t USING (VALUES (%s), (%s)) AS s ([tag]) "
        "ON t.[tag] = s.[tag] WHEN NOT MATCHED THEN INSERT ([tag]) VALUES (s.[tag]);"
    )
    assert params == ["a", "b"]


def test_mssql_django_sends_our_statements_with_one_marker_per_parameter(sqlserver):
    from mssql.base import CursorWrapper

    sql, params = mssql.merge_statement(
        quote_mssql, "[Parts]", "part_no", [{"part_no": "P-1", "qty": 1}]
    )

    sent = CursorWrapper(None, sqlserver).format_sql(sql, params)

    assert sent.count("?") == len(params) and "%" not in sent


def test_statements_stay_within_1000_rows_and_2100_parameters():
    assert mssql.rows_per_statement(7) == 285  # 1,995 parameters, within "at most 299"
    assert mssql.rows_per_statement(2) == 1000
    assert mssql.rows_per_statement(1) == 1000
    assert mssql.rows_per_statement(2500) == 1  # one row is all a statement can do
    for columns in range(1, 2001):
        rows = mssql.rows_per_statement(columns)
        assert rows <= mssql.MAX_VALUES_ROWS
        assert rows * columns < mssql.MAX_PARAMETERS


class RecordingSQLServer:
    """Stands in for a connected SQL Server at the edge of the process: mssql-django's real
    quoting, and a cursor that records each statement and answers like an empty table."""

    vendor = "microsoft"

    def __init__(self, wrapper: Any) -> None:
        self.ops, self.features = wrapper.ops, wrapper.features
        self.statements: list[tuple[str, list]] = []
        self.commits = 0

    @contextmanager
    def cursor(self) -> Iterator[RecordingSQLServer]:
        yield self

    def execute(self, sql: str, params: list) -> None:
        self.statements.append((sql, list(params)))

    def fetchall(self) -> list:
        return []

    def set_autocommit(self, on: bool) -> None:
        pass

    def commit(self) -> None:
        self.commits += 1

    def rollback(self) -> None:  # pragma: no cover - nothing fails here
        raise AssertionError("no statement failed")


def test_an_upsert_of_2500_rows_of_7_columns_is_split_into_merges_within_the_limits(sqlserver):
    server = RecordingSQLServer(sqlserver)
    rows = [{"id": n, **{f"c{i}": f"v{n}.{i}" for i in range(6)}} for n in range(2500)]

    failures = upsert_rows(server, kind="mssql", object_name="dbo.Wide", key="id", rows=rows)

    assert failures == []
    sizes = [len(params) // 7 for _, params in server.statements]
    assert sizes == [285] * 8 + [220]
    assert server.commits == 9  # one transaction per statement
    for sql, params in server.statements:
        assert sql.startswith("MERGE INTO [dbo].[Wide] WITH (HOLDLOCK) AS t USING (VALUES (")
        assert len(params) < mssql.MAX_PARAMETERS
    assert [p for _, params in server.statements for p in params[::7]] == list(range(2500))


def test_a_fetch_of_4500_keys_asks_in_statements_of_at_most_2000_parameters(sqlserver):
    server = RecordingSQLServer(sqlserver)

    fetch_rows(
        server,
        kind="mssql",
        object_name="Parts",
        key="part_no",
        columns=["qty"],
        keys=[f"P-{n}" for n in range(4500)],
    )

    assert [len(params) for _, params in server.statements] == [2000, 2000, 500]
    sql = server.statements[-1][0]
    assert (
        sql
        == f"SELECT [part_no], [qty] FROM [Parts] WHERE [part_no] IN ({', '.join(['%s'] * 500)})"
    )


def test_a_full_page_is_a_top_query_ordered_by_key(sqlserver):
    sql, params, columns = batch_query(
        sqlserver,
        kind="mssql",
        object_name="dbo.Order Lines",
        columns=["qty", "line_no"],
        key="line_no",
        cursor_field=None,
        after=None,
        upper=None,
        limit=500,
    )

    assert sql == "SELECT TOP (500) [line_no], [qty] FROM [dbo].[Order Lines] ORDER BY [line_no]"
    assert (params, columns) == ([], ["line_no", "qty"])


def test_a_next_full_page_starts_after_the_last_key(sqlserver):
    sql, params, _ = batch_query(
        sqlserver,
        kind="mssql",
        object_name="Parts",
        columns=["qty"],
        key="part_no",
        cursor_field=None,
        after=(None, "P-0500"),
        upper=None,
        limit=500,
    )

    assert sql == (
        "SELECT TOP (500) [part_no], [qty] FROM [Parts] WHERE [part_no] > %s ORDER BY [part_no]"
    )
    assert params == ["P-0500"]


def test_a_delta_page_on_a_rowversion_compares_it_with_binary_parameters(sqlserver):
    # The cursor as the engine stores it (JSON) and reads it back; the upper bound as a driver
    # might hand it over (a memoryview).
    stored = json.loads(json.dumps(cursors.encode(RV)))
    after = (cursors.decode(stored), 42)
    upper = memoryview(bytes.fromhex("0000000000000fa0"))

    sql, params, _ = batch_query(
        sqlserver,
        kind="mssql",
        object_name="dbo.Orders",
        columns=["status"],
        key="order_id",
        cursor_field="rv",
        after=after,
        upper=upper,
        limit=100,
    )

    assert stored == {"bytes": "00000000000007d1"}
    assert sql == (
        "SELECT TOP (100) [order_id], [rv], [status] FROM [dbo].[Orders] "
        "WHERE [rv] IS NOT NULL AND [rv] <= %s AND [rv] >= %s AND ([rv] > %s OR ([rv] = %s AND "
        "[order_id] > %s)) ORDER BY [rv], [order_id]"
    )
    assert params == [bytes.fromhex("0000000000000fa0"), RV, RV, RV, 42]
    assert all(type(p) is bytes for p in params[:4])


def test_a_cursor_parameter_is_bytes_whatever_form_the_rowversion_arrives_in():
    for value in [RV, bytearray(RV), memoryview(RV), {"bytes": RV.hex()}]:
        assert mssql.cursor_parameter(value) == RV
        assert type(mssql.cursor_parameter(value)) is bytes
    assert mssql.cursor_parameter(datetime(2026, 1, 1)) == datetime(2026, 1, 1)
    assert mssql.cursor_parameter(7) == 7


def test_our_top_page_is_what_mssql_djangos_own_compiler_writes_for_a_sliced_queryset(sqlserver):
    from quality.models import Equipment

    at = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    queryset = (
        Equipment.objects.filter(updated_at__isnull=False, updated_at__lte=at)
        .filter(updated_at__gte=at)
        .filter(Q(updated_at__gt=at) | (Q(updated_at=at) & Q(number__gt="EQ-1")))
        .order_by("updated_at", "number")
        .values_list("number", "updated_at", "name")[:5]
    )
    theirs, their_params = queryset.query.get_compiler(connection=sqlserver).as_sql()

    ours, our_params, _ = batch_query(
        sqlserver,
        kind="mssql",
        object_name=Equipment._meta.db_table,
        columns=["name"],
        key="number",
        cursor_field="updated_at",
        after=(at, "EQ-1"),
        upper=at,
        limit=5,
    )

    # Theirs qualifies every column, aliases it, brackets the WHERE and writes TOP without
    # parentheses and ORDER BY by position; otherwise the two must be the same statement.
    table = sqlserver.ops.quote_name(Equipment._meta.db_table)
    normalised = re.sub(r" AS \[\w+\]", "", theirs.replace(f"{table}.", ""))
    normalised = re.sub(r"WHERE \((.*)\) ORDER BY", r"WHERE \1 ORDER BY", normalised)
    normalised = normalised.replace("SELECT TOP 5 ", "SELECT TOP (5) ")
    assert normalised.split(" ORDER BY ")[0] == ours.split(" ORDER BY ")[0]
    assert normalised.endswith("ORDER BY 2 ASC, 1 ASC")
    assert ours.endswith("ORDER BY [updated_at], [number]")
    assert list(their_params) == our_params


def test_the_unique_key_query_takes_the_schema_or_the_callers_default_as_a_parameter():
    with_schema, params = mssql.unique_key_query("erp", "Parts", "part_no")
    default, default_params = mssql.unique_key_query(None, "Parts", "part_no")

    assert "t.schema_id = SCHEMA_ID(%s)" in with_schema and params == ["erp", "Parts", "part_no"]
    assert "t.schema_id = SCHEMA_ID()" in default and default_params == ["Parts", "part_no"]
    assert with_schema.count("%s") == 3 and default.count("%s") == 2
