"""Upserts and fetches by key against real SQLite files, the local PostgreSQL and MariaDB: new
rows inserted, existing ones updated, idempotent, refused rows isolated, chunked."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal

import pytest

from sync.connectors.errors import ConnectorError
from sync.connectors.sql import SQLConnector
from sync.connectors.sql.catalog import key_caster, key_is_unique
from sync.connectors.sql.identifiers import quote_mysql, quote_postgresql
from sync.connectors.sql.read import fetch_rows
from sync.connectors.sql.write import upsert_rows
from tests.sync.sources import PG, MariaDBSource, PostgresSource, Source, SQLiteSource

# pytest-django lets a test open any database connection only with this mark.
pytestmark = pytest.mark.django_db


class Target:
    """An external table to write to, its view, and the connector the engine would use."""

    def __init__(self, source: Source) -> None:
        self.source, self.kind = source, source.kind
        self.table = f"erp_parts_{os.getpid()}"
        self.view = f"{self.table}_v"
        fields = {"host": "", "port": None, "username": "", **source.connection_fields()}
        self.connector = SQLConnector(
            **fields, password="", options={}, timeout=5, alias="test-target"
        )

    def create(self) -> None:
        with self.source.cursor() as cur:
            cur.execute(
                f"CREATE TABLE {self.table} (part_no varchar(32) PRIMARY KEY, "
                "description varchar(20) NOT NULL, qty integer NULL, alt_code varchar(16) UNIQUE)"
            )
            cur.execute(f"CREATE VIEW {self.view} AS SELECT part_no, qty FROM {self.table}")

    def drop(self) -> None:
        with self.source.cursor() as cur:
            cur.execute(f"DROP VIEW {self.view}")
            cur.execute(f"DROP TABLE {self.table}")

    def contents(self) -> dict[str, tuple]:
        """The table as another connection sees it: only what was committed."""
        with self.source.cursor() as cur:
            cur.execute(f"SELECT part_no, description, qty FROM {self.table}")
            return {row[0]: tuple(row[1:]) for row in cur.fetchall()}


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def target(request, tmp_path) -> Iterator[Target]:
    source = {
        "sqlite": lambda: SQLiteSource(tmp_path),
        "postgresql": PostgresSource,
        "mariadb": MariaDBSource,
    }[request.param]()
    target = Target(source)
    target.create()
    yield target
    target.drop()


@pytest.fixture
def db(target):
    with target.connector.open() as wrapper:
        yield wrapper


def parts(count: int, *, start: int = 1, text: str = "Part") -> list[dict]:
    return [
        {"part_no": f"P-{n:05d}", "description": f"{text} {n}", "qty": n}
        for n in range(start, start + count)
    ]


def upsert(target: Target, db, rows: list[dict], **kwargs):
    return upsert_rows(
        db, kind=target.kind, object_name=target.table, key="part_no", rows=rows, **kwargs
    )


def test_new_rows_are_inserted_and_committed(target, db):
    failures = upsert(target, db, parts(3))

    assert failures == []
    assert target.contents() == {
        "P-00001": ("Part 1", 1),
        "P-00002": ("Part 2", 2),
        "P-00003": ("Part 3", 3),
    }
    assert db.get_autocommit()


def test_existing_rows_are_updated_by_key_and_others_left_alone(target, db):
    upsert(target, db, parts(3))

    failures = upsert(target, db, [{"part_no": "P-00002", "description": "Changed", "qty": None}])

    assert failures == []
    assert target.contents() == {
        "P-00001": ("Part 1", 1),
        "P-00002": ("Changed", None),
        "P-00003": ("Part 3", 3),
    }


def test_the_same_upsert_twice_leaves_the_same_table(target, db):
    rows = [*parts(4), {"part_no": "P-00002", "description": "Second", "qty": 0}]
    upsert(target, db, rows)
    once = target.contents()

    assert upsert(target, db, rows) == []
    assert target.contents() == once


def test_the_last_of_several_rows_with_one_key_wins(target, db):
    rows = [
        {"part_no": "P-1", "description": "first", "qty": 1},
        {"part_no": "P-2", "description": "other", "qty": 2},
        {"part_no": "P-1", "description": "last", "qty": 3},
    ]

    assert upsert(target, db, rows) == []
    assert target.contents() == {"P-1": ("last", 3), "P-2": ("other", 2)}


def test_a_refused_row_fails_alone_with_its_external_id_and_the_others_are_written(target, db):
    rows = parts(5)
    rows[1]["description"] = None  # NOT NULL
    if target.kind != "sqlite":  # SQLite does not enforce varchar lengths
        rows[3]["description"] = "x" * 21

    failures = upsert(target, db, rows)

    bad = ["P-00002"] + (["P-00004"] if target.kind != "sqlite" else [])
    assert [f.external_id for f in failures] == bad
    assert set(target.contents()) == {r["part_no"] for r in rows} - set(bad)
    message = failures[0].message
    assert "\n" not in message and len(message) <= 480
    assert message.split(":")[0] in {"IntegrityError", "NotNullViolation", "OperationalError"}


def test_a_refused_chunk_is_rolled_back_and_leaves_no_transaction_open(target, db):
    rows = [*parts(3), {"part_no": "P-BAD", "description": None, "qty": 0}]

    upsert(target, db, rows)

    assert db.get_autocommit() and not db.in_atomic_block
    # Another connection can take the whole table at once only if no transaction of ours holds
    # a lock on it; SQLite refuses a second writer immediately (timeout 0).
    assert_table_can_be_locked_exclusively(target)


def assert_table_can_be_locked_exclusively(target: Target) -> None:
    if target.kind == "sqlite":
        import sqlite3

        other = sqlite3.connect(target.source.path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        finally:
            other.close()
        return
    with target.source.cursor() as cur:
        if target.kind == "postgresql":
            cur.execute("BEGIN")
            cur.execute(f"LOCK TABLE {target.table} IN ACCESS EXCLUSIVE MODE NOWAIT")
            cur.execute("ROLLBACK")
        else:
            cur.execute("SET SESSION lock_wait_timeout = 1")
            cur.execute(f"LOCK TABLES {target.table} WRITE")
            cur.execute("UNLOCK TABLES")


def test_thousands_of_rows_are_written_in_chunks_and_a_bad_one_still_fails_alone(target, db):
    rows = parts(2500)
    rows[1700]["description"] = None

    failures = upsert(target, db, rows)

    assert [f.external_id for f in failures] == ["P-01701"]
    contents = target.contents()
    assert len(contents) == 2499 and contents["P-02500"] == ("Part 2500", 2500)


def test_fetch_reads_rows_by_key_over_more_keys_than_one_statement_takes(target, db):
    upsert(target, db, parts(2500))
    keys = [f"P-{n:05d}" for n in range(1, 2601)] + ["P-00007", None]  # 100 missing, 1 twice

    rows = fetch_rows(
        db,
        kind=target.kind,
        object_name=target.table,
        key="part_no",
        columns=["description", "part_no", "qty"],
        keys=keys,
    )

    assert len(rows) == 2500
    by_key = {row["part_no"]: row for row in rows}
    assert by_key["P-00007"] == {"part_no": "P-00007", "description": "Part 7", "qty": 7}


# Keys an array parameter must escape (PostgreSQL fetches text keys as one array).
ODD_KEYS = ["P-{1}", 'P-"q"', "P-a\\b", "P-a,b", "P- x", "NULL", "P-ü €", "P-()"]


@pytest.mark.parametrize("key_type", ["character varying", None])
def test_fetch_finds_keys_holding_braces_quotes_backslashes_commas_and_null_words(
    target, db, key_type
):
    rows = [{"part_no": k, "description": f"Part {n}", "qty": n} for n, k in enumerate(ODD_KEYS)]
    assert upsert(target, db, rows) == []

    found = fetch_rows(
        db,
        kind=target.kind,
        object_name=target.table,
        key="part_no",
        columns=["description", "qty"],
        keys=[*ODD_KEYS, "P-missing", "NUL"],
        key_type=key_type,
    )

    assert sorted(found, key=lambda row: row["qty"]) == rows


def test_a_row_without_a_key_value_fails_without_touching_the_database(target, db):
    failures = upsert(target, db, [{"part_no": None, "description": "No key", "qty": 1}])

    assert [(f.external_id, f.message) for f in failures] == [
        ("", "No value for the key column 'part_no'.")
    ]
    assert target.contents() == {}


@pytest.mark.parametrize("name", ['qty" = 1; --', "qty` = 1; --", "qty] = 1; --"])
def test_a_column_name_holding_sql_is_quoted_as_one_name_and_never_run(target, db, name):
    (failure,) = upsert(target, db, [{"part_no": "P-1", "description": "x", name: 2}])

    # No table has that column: the database refuses the row, naming the whole name.
    assert failure.external_id == "P-1"
    assert any(word in failure.message for word in ("no column", "does not exist", "Unknown"))
    assert target.contents() == {}


# Names any dialect's quoting must escape, and one that looks like PostgreSQL's numbered
# placeholders (the PostgreSQL paths send statements written with `$1`, `$2`, …).
ODD_COLUMNS = ['say "hi"', "a`b", "x]y", "cost $1"]


def test_columns_named_with_quote_characters_or_placeholders_are_written_and_fetched(target, db):
    q = quote_mysql if target.kind == "mysql" else quote_postgresql
    table = f"{target.table}_odd"
    columns = ", ".join(f"{q(name)} varchar(20) NULL" for name in ODD_COLUMNS)
    with target.source.cursor() as cur:
        cur.execute(f"CREATE TABLE {table} (part_no varchar(32) PRIMARY KEY, {columns})")
    try:
        rows = [{"part_no": f"P-{n}", **{c: f"{c[:3]} {n}" for c in ODD_COLUMNS}} for n in (1, 2)]
        kwargs = {"kind": target.kind, "object_name": table, "key": "part_no"}

        assert upsert_rows(db, rows=rows, **kwargs) == []
        assert upsert_rows(db, rows=[{**rows[1], "cost $1": "changed"}], **kwargs) == []

        fetched = fetch_rows(db, columns=ODD_COLUMNS, keys=["P-1", "P-2"], **kwargs)
        assert sorted(fetched, key=lambda row: row["part_no"]) == [
            rows[0],
            {**rows[1], "cost $1": "changed"},
        ]
    finally:
        with target.source.cursor() as cur:
            cur.execute(f"DROP TABLE {table}")


def test_rows_with_different_columns_are_a_programming_error(target, db):
    with pytest.raises(ValueError, match="same columns"):
        upsert(target, db, [{"part_no": "P-1", "qty": 1}, {"part_no": "P-2", "description": "x"}])


def test_key_is_unique_for_primary_and_unique_keys_only_and_never_for_a_view(target, db):
    def unique(object_name: str, key: str) -> bool:
        return key_is_unique(db, object_name=object_name, key=key)

    assert unique(target.table, "part_no")  # primary key
    assert unique(target.table, "alt_code")  # unique constraint
    assert not unique(target.table, "qty")
    assert not unique(target.view, "part_no")
    assert not unique("no_such_table", "part_no")


def test_a_unique_index_on_several_columns_does_not_make_one_of_them_unique(target, db):
    with target.source.cursor() as cur:
        cur.execute(f"CREATE TABLE {target.table}_pair (a integer NOT NULL, b integer NOT NULL)")
        cur.execute(f"CREATE UNIQUE INDEX {target.table}_ab ON {target.table}_pair (a, b)")
    try:
        assert not key_is_unique(db, object_name=f"{target.table}_pair", key="a")
    finally:
        with target.source.cursor() as cur:
            cur.execute(f"DROP TABLE {target.table}_pair")


def test_key_caster_turns_external_ids_back_into_the_key_columns_type(target):
    columns = {c.name: c.data_type for c in target.connector.describe(target.table)}

    assert key_caster(columns["qty"])("42") == 42
    assert key_caster(columns["part_no"])("P-1") == "P-1"
    for data_type in ["integer", "INTEGER", "int", "bigint", "INT(11) UNSIGNED", "smallint"]:
        assert key_caster(data_type)("7") == 7
    for data_type in ["numeric", "decimal(10,2)", "NUMERIC"]:
        assert key_caster(data_type)("1.50") == Decimal("1.50")
    for data_type in ["varchar", "character varying", "uniqueidentifier", "text", ""]:
        assert key_caster(data_type)("0042") == "0042"
    assert key_caster("varbinary")("00ff") == b"\x00\xff"


def test_an_upserted_row_keyed_by_a_cast_external_id_is_found_again(target, db):
    # The engine keeps external ids as text; the key of this view's table is an integer.
    with target.source.cursor() as cur:
        cur.execute(f"CREATE TABLE {target.table}_n (id integer PRIMARY KEY, name varchar(20))")
    try:
        data_type = {c.name: c.data_type for c in target.connector.describe(f"{target.table}_n")}
        cast = key_caster(data_type["id"])
        rows = [{"id": cast("10"), "name": "ten"}, {"id": cast("9"), "name": "nine"}]
        assert (
            upsert_rows(db, kind=target.kind, object_name=f"{target.table}_n", key="id", rows=rows)
            == []
        )
        found = fetch_rows(
            db,
            kind=target.kind,
            object_name=f"{target.table}_n",
            key="id",
            columns=["name"],
            keys=[cast("10")],
        )
        assert found == [{"id": 10, "name": "ten"}]
    finally:
        with target.source.cursor() as cur:
            cur.execute(f"DROP TABLE {target.table}_n")


def postgres() -> SQLConnector:
    return SQLConnector(
        kind="postgresql",
        host=PG["host"],
        port=PG["port"],
        database=PG["dbname"],
        username=PG["user"],
        password="",
        options={},
        timeout=5,
        alias="test-pg",
    )


def test_a_schema_qualified_postgresql_table_is_written_fetched_and_checked(erp_postgres):
    import psycopg

    table = f"{erp_postgres['schema']}.suppliers"
    with postgres().open() as db:
        failures = upsert_rows(
            db,
            kind="postgresql",
            object_name=table,
            key="vendor_id",
            rows=[
                {"vendor_id": 1, "vendor_name": "Acme"},
                {"vendor_id": 2, "vendor_name": None},
            ],
        )
        fetched = fetch_rows(
            db,
            kind="postgresql",
            object_name=table,
            key="vendor_id",
            columns=["vendor_name"],
            keys=[1, 2],
        )
        unique = key_is_unique(db, object_name=table, key="vendor_id")
        not_unique = key_is_unique(db, object_name=table, key="vendor_name")
        elsewhere = key_is_unique(
            db, object_name=f"public.suppliers_{os.getpid()}", key="vendor_id"
        )

    assert [f.external_id for f in failures] == ["2"]
    assert "NotNullViolation" in failures[0].message
    assert fetched == [{"vendor_id": 1, "vendor_name": "Acme"}]
    assert (unique, not_unique, elsewhere) == (True, False, False)
    with psycopg.connect(**PG) as other:
        assert other.execute(f"SELECT vendor_name FROM {table}").fetchall() == [("Acme",)]


def test_failure_messages_leave_out_the_given_secrets(erp_postgres):
    table = f"{erp_postgres['schema']}.suppliers"
    with postgres().open() as db:
        # PostgreSQL echoes the failing row, which here holds the "secret".
        (failure,) = upsert_rows(
            db,
            kind="postgresql",
            object_name=table,
            key="vendor_id",
            rows=[{"vendor_id": 7, "vendor_name": None, "updated": "hunter2-secret"}],
            secrets=["hunter2-secret"],
        )

    assert failure.external_id == "7"
    assert "hunter2-secret" not in failure.message


def test_a_connection_lost_mid_write_fails_the_whole_call_not_every_row(erp_postgres):
    import psycopg

    table = f"{erp_postgres['schema']}.suppliers"
    with postgres().open() as db:
        pid = db.connection.info.backend_pid
        with psycopg.connect(**PG, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])
        with pytest.raises(ConnectorError):
            upsert_rows(
                db,
                kind="postgresql",
                object_name=table,
                key="vendor_id",
                rows=[{"vendor_id": 1, "vendor_name": "Acme"}],
            )
