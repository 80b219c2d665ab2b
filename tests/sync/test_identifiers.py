"""Second-order SQL injection through names: a remote column may really be called
`val" FROM secrets --`. Such names are read and written as exactly that column on SQLite,
PostgreSQL and MariaDB (full, delta, count, max, keyset, fetch, upsert, describe), and reach
SQL Server as exactly that column; so are names with `%` in them, which drivers that %-format
statements would read as placeholders. Table names holding quotes, brackets, backticks,
semicolons or comment markers are refused with a 400; a column renamed at the source fails the
run with a clear message."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import ConnectionHandler
from django.db.backends.utils import CursorWrapper

from quality import services as quality
from quality.models import Equipment
from sync.connectors.base import RemoteSpec
from sync.connectors.sql import SQLSession, TableCatalogue
from sync.models import Connection, SyncRecord, SyncRun
from tests.conftest import mssql_backend
from tests.sync.sources import MariaDBSource, PostgresSource, SQLiteSource

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 5, 1, 8, 0)
SECRET = "TOP-SECRET-VALUE"


class WeirdTable:
    """An ERP table whose every column name is hostile, beside a table of secrets."""

    def __init__(self, source) -> None:
        self.source, self.kind = source, source.kind
        self.table = f"erp_weird_{os.getpid()}"
        self.secrets = f"erp_secrets_{os.getpid()}"
        self.key = 'part "no" 100%'
        self.cursor = "changed`at %(x)s"
        # The column, its backtick and bracket twins, and other SQL in names.
        self.columns = {
            "v_dq": f'val" FROM {self.secrets} --',
            "v_bt": f"val` FROM {self.secrets} --",
            "v_br": f"val] FROM {self.secrets} --",
            "v_semi": f"qty; DROP TABLE {self.secrets}",
            "v_comment": "note /* x */ -- y",
            "v_quote": "it's",
            # Every form a driver that %-formats statements would read as a placeholder.
            "v_pct": "50% off %s %(x)s %%",
        }

    def q(self, name: str) -> str:
        """The test's own DDL quoting (written independently of the code under test)."""
        if self.kind == "mysql":
            return "`" + name.replace("`", "``") + "`"
        return '"' + name.replace('"', '""') + '"'

    def create(self) -> None:
        text = "varchar(100)"
        columns = ", ".join(f"{self.q(c)} {text}" for c in self.columns.values())
        with self.source.cursor() as cur:
            cur.execute(f"CREATE TABLE {self.secrets} (val {text})")
            cur.execute(f"INSERT INTO {self.secrets} (val) VALUES ('{SECRET}')")
            cur.execute(
                f"CREATE TABLE {self.table} ({self.q(self.key)} varchar(32) PRIMARY KEY, "
                f"{self.q(self.cursor)} timestamp NULL, {columns})"
            )

    def drop(self) -> None:
        with self.source.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {self.table}")
            cur.execute(f"DROP TABLE IF EXISTS {self.secrets}")

    def insert(self, number: int, at: datetime) -> None:
        names = [self.key, self.cursor, *self.columns.values()]
        values = [f"P-{number}", at, *(f"{local}-{number}" for local in self.columns)]
        marks = ", ".join([self.source.placeholder] * len(values))
        quoted = ", ".join(map(self.q, names))
        if self.source.placeholder == "%s":  # psycopg and MySQLdb %-format the statement
            quoted = quoted.replace("%", "%%")
        with self.source.cursor() as cur:
            cur.execute(f"INSERT INTO {self.table} ({quoted}) VALUES ({marks})", values)

    def rows(self) -> dict[str, dict[str, str]]:
        names = [self.key, *self.columns.values()]
        with self.source.cursor() as cur:
            cur.execute(f"SELECT {', '.join(map(self.q, names))} FROM {self.table}")
            return {row[0]: dict(zip(self.columns, row[1:], strict=True)) for row in cur}

    def secrets_left(self) -> int:
        with self.source.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM {self.secrets}")
            return cur.fetchone()[0]


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def weird(request, tmp_path):
    source = {
        "sqlite": lambda: SQLiteSource(tmp_path),
        "postgresql": PostgresSource,
        "mariadb": MariaDBSource,
    }[request.param]()
    table = WeirdTable(source)
    table.drop()
    table.create()
    yield table
    table.drop()


@pytest.fixture
def connection(weird) -> Connection:
    return Connection.objects.create(name="ERP", **weird.source.connection_fields())


def configure(api, weird, connection, **overrides):
    body = {
        "name": "Weird",
        "system_type": "ERP",
        "connection": connection.pk,
        "entity_type": "orders",
        "sync_direction": "inbound",
        "sync_type": "delta",
        "remote_object": weird.table,
        "remote_key": weird.key,
        "delta_field": weird.cursor,
        "field_mappings": [
            {"local": local, "remote": remote} for local, remote in weird.columns.items()
        ],
        "batch_size": 2,
        **overrides,
    }
    return api.post("/api/sync/configurations/", body, format="json")


def test_describe_lists_the_names_exactly_as_the_catalogue_has_them(admin_api, weird, connection):
    response = admin_api.get(
        f"/api/sync/connections/{connection.pk}/describe/", {"object": weird.table}
    )

    names = [column["name"] for column in response.json()]
    assert names == [weird.key, weird.cursor, *weird.columns.values()]


def test_hostile_column_names_are_read_as_exactly_those_columns_and_nothing_else(
    admin_api, weird, connection
):
    for number in range(1, 6):
        weird.insert(number, T0 + timedelta(minutes=number))
    created = configure(admin_api, weird, connection)
    assert created.status_code == 201, created.json()
    config_id = created.json()["id"]

    preview = admin_api.get(f"/api/sync/configurations/{config_id}/delta/").json()
    call_command("run_sync", str(config_id))  # batches of 2: keyset pages after the first
    weird.insert(6, T0 + timedelta(hours=1))
    call_command("run_sync", str(config_id))

    assert preview["count"] == 5 and preview["rows"][0]["values"]["v_dq"] == "v_dq-1"
    runs = list(SyncRun.objects.order_by("pk").values_list("status", "processed"))
    assert runs == [("success", 5), ("success", 1)]
    records = {r.external_id: r.data for r in SyncRecord.objects.all()}
    assert records == {
        f"P-{n}": {local: f"{local}-{n}" for local in weird.columns} for n in range(1, 7)
    }
    assert SECRET not in str(records)
    assert weird.secrets_left() == 1


def test_a_full_read_takes_every_page_from_exactly_those_columns_percent_signs_and_all(
    admin_api, weird, connection
):
    for number in range(1, 6):
        weird.insert(number, T0)
    created = configure(admin_api, weird, connection, sync_type="full", delta_field="")
    assert created.status_code == 201, created.json()

    # The first page and the count have no parameters (nothing %-formats them), later pages
    # have some (everything does).
    call_command("run_sync", str(created.json()["id"]))

    assert SyncRun.objects.get().processed == 5
    records = {r.external_id: r.data for r in SyncRecord.objects.all()}
    assert {n: data["v_pct"] for n, data in records.items()} == {
        f"P-{n}": f"v_pct-{n}" for n in range(1, 6)
    }
    assert records["P-1"] == {local: f"{local}-1" for local in weird.columns}


def test_hostile_column_names_are_written_as_exactly_those_columns(
    admin_api, weird, connection, settings
):
    settings.SYNC_LOCAL_SETTLE_SECONDS = 0
    quality.equipment_create(number="EQ-1", name="Caliper", model="M-1")
    quality.equipment_create(number="EQ-2", name="Gauge", model="M-2")
    created = configure(
        admin_api,
        weird,
        connection,
        entity_type="equipment",
        sync_direction="outbound",
        sync_type="full",
        delta_field="",
        field_mappings=[
            {"local": "number", "remote": weird.key},
            {"local": "name", "remote": weird.columns["v_dq"]},
            {"local": "location", "remote": weird.columns["v_semi"]},
            {"local": "model", "remote": weird.columns["v_pct"]},
        ],
    )
    assert created.status_code == 201, created.json()

    call_command("run_sync", str(created.json()["id"]))  # inserts
    quality.equipment_update(
        equipment=Equipment.objects.get(number="EQ-2"), data={"name": "Gauge 2", "model": "M-2b"}
    )
    call_command("run_sync", str(created.json()["id"]))  # fetches, compares, updates

    rows = weird.rows()
    assert {n: (row["v_dq"], row["v_semi"], row["v_pct"]) for n, row in rows.items()} == {
        "EQ-1": ("Caliper", "", "M-1"),
        "EQ-2": ("Gauge 2", "", "M-2b"),
    }
    assert SyncRun.objects.filter(status="success").count() == 2
    assert weird.secrets_left() == 1


@pytest.mark.parametrize(
    "table",
    ['erp"; DROP TABLE x; --', "erp` x", "erp] x", "erp -- x", "erp /* x */", "a.b.c", "x'y"],
)
def test_table_names_holding_sql_are_refused_with_a_400_naming_remote_object(
    admin_api, weird, connection, table
):
    response = configure(admin_api, weird, connection, remote_object=table)

    assert response.status_code == 400
    assert "remote_object" in response.json()["errors"]
    assert weird.secrets_left() == 1


def test_a_column_renamed_at_the_source_fails_the_run_and_the_preview_clearly(
    admin_api, weird, connection
):
    weird.insert(1, T0)
    config_id = configure(admin_api, weird, connection).json()["id"]
    renamed = weird.columns["v_comment"]
    with weird.source.cursor() as cur:
        cur.execute(f"ALTER TABLE {weird.table} RENAME COLUMN {weird.q(renamed)} TO note")

    preview = admin_api.get(f"/api/sync/configurations/{config_id}/delta/")
    with pytest.raises(CommandError, match="ended failed"):
        call_command("run_sync", str(config_id))

    error = SyncRun.objects.get().error
    assert error.startswith("Configuration no longer matches the source:")
    assert repr(renamed) in error and "note" in error
    assert preview.status_code == 400
    assert repr(renamed) in preview.json()["errors"]["connection"][0]
    assert not SyncRecord.objects.exists()


class PyodbcCursor:
    """pyodbc's cursor under mssql-django's own cursor wrappers: records each statement as SQL
    Server would receive it and answers like an empty table."""

    def __init__(self) -> None:
        self.received: list[tuple[str, tuple]] = []

    def execute(self, sql: str, params: tuple) -> None:
        self.received.append((sql, params))

    def fetchone(self) -> tuple:
        return (0,)

    def fetchall(self) -> list:
        return []

    def nextset(self) -> bool:
        return False


class SQLServerDriver:
    """A connected SQL Server as far as our SQL goes: Django's and mssql-django's real cursor
    wrappers (mssql-django turns `%s` into `?` and `%%` into `%` only when there are
    parameters) over a recording pyodbc cursor."""

    vendor = "microsoft"

    def __init__(self) -> None:
        database = {"ENGINE": "mssql", "NAME": "erp", "HOST": "sqlserver.invalid", "USER": "s"}
        settings = ConnectionHandler().configure_settings({"default": database})["default"]
        self.wrapper = mssql_backend().DatabaseWrapper(settings, "percent-names")
        self.ops, self.features = self.wrapper.ops, self.wrapper.features
        self.driver = PyodbcCursor()

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        theirs = mssql_backend().CursorWrapper(self.driver, self.wrapper)
        yield CursorWrapper(theirs, self.wrapper)

    def set_autocommit(self, on: bool) -> None:
        pass

    def commit(self) -> None:
        pass

    def rollback(self) -> None:  # pragma: no cover - nothing fails here
        raise AssertionError("no statement failed")


def test_sql_server_receives_names_with_percent_signs_as_exactly_those_columns_on_every_path():
    server = SQLServerDriver()
    key, cursor, value = "no. 100%", "changed %(at)s", "50% off %s %(x)s %%"
    spec = RemoteSpec(object_name="dbo.Parts", key=key, cursor_field=cursor, columns=(value,))
    catalogue = TableCatalogue(db=server, kind="mssql", object_name="dbo.Parts", columns={})
    session = SQLSession(
        server, kind="mssql", spec=spec, cast_key=str, secrets=[], catalogue=catalogue
    )

    session.upper_bound()
    session.count(after=(T0, "P-1"), upper=T0)
    list(session.batches(after=None, upper=None, size=10))
    list(session.batches(after=(T0, "P-1"), upper=T0, size=10))
    session.fetch(["P-1"])
    session.upsert([{key: "P-1", value: "50%"}])

    k, d, v = "[no. 100%]", "[changed %(at)s]", "[50% off %s %(x)s %%]"
    window = (
        f"WHERE {d} IS NOT NULL AND {d} <= ? AND {d} >= ? AND ({d} > ? OR ({d} = ? AND {k} > ?))"
    )
    assert server.driver.received == [
        (f"SELECT MAX({d}) FROM [dbo].[Parts]", ()),
        (f"SELECT COUNT(*) FROM [dbo].[Parts] {window}", (T0, T0, T0, T0, "P-1")),
        (f"SELECT TOP (10) {k}, {d}, {v} FROM [dbo].[Parts] ORDER BY {k}", ()),
        (
            f"SELECT TOP (10) {k}, {d}, {v} FROM [dbo].[Parts] {window} ORDER BY {d}, {k}",
            (T0, T0, T0, T0, "P-1"),
        ),
        (f"SELECT {k}, {d}, {v} FROM [dbo].[Parts] WHERE {k} IN (?)", ("P-1",)),
        (
            f"MERGE INTO [dbo].[Parts] WITH (HOLDLOCK) AS t USING (VALUES (?, ?)) AS s ({k}, {v}) "
            f"ON t.{k} = s.{k} WHEN MATCHED THEN UPDATE SET t.{v} = s.{v} "
            f"WHEN NOT MATCHED THEN INSERT ({k}, {v}) VALUES (s.{k}, s.{v});",
            ("P-1", "50%"),
        ),
    ]
