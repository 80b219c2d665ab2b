"""The SQL Server contract against a real server: upsert (MERGE), fetch, keyset pages on a
rowversion, the unique-key check. Runs only where MSSQL_TEST_URL names a server, e.g.
`mssql://sa:secret@127.0.0.1:1433/erp?extra_params=TrustServerCertificate%3Dyes`
(query parameters become mssql-django OPTIONS, as for DATABASE_URL: mssql-python's bundled
driver unless `driver=…` or `dsn=…` selects pyodbc). Each process creates and drops its own
tables."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import environ
import pytest

from sync.connectors import cursors
from sync.connectors.sql import SQLConnector
from sync.connectors.sql.catalog import key_caster, key_is_unique
from sync.connectors.sql.read import fetch_rows, max_value, select_batch
from sync.connectors.sql.write import upsert_rows

MSSQL_TEST_URL = os.environ.get("MSSQL_TEST_URL", "")

pytestmark = [
    pytest.mark.skipif(not MSSQL_TEST_URL, reason="MSSQL_TEST_URL is not set"),
    pytest.mark.django_db,  # pytest-django lets a test open connections only with this mark
]


class Server:
    def __init__(self, url: str) -> None:
        config = environ.Env.db_url_config(url)
        assert config["ENGINE"] == "mssql", "MSSQL_TEST_URL must start with mssql://"
        self.password = config["PASSWORD"]
        self.connector = SQLConnector(
            kind="mssql",
            host=config["HOST"],
            port=config["PORT"] or None,
            database=config["NAME"],
            username=config["USER"],
            password=config["PASSWORD"],
            options=config.get("OPTIONS", {}),
            timeout=15,
            alias="test-mssql-live",
        )
        self.table = f"sync_parts_{os.getpid()}"
        self.keys = f"sync_keys_{os.getpid()}"

    def run(self, *statements: str) -> None:
        with self.connector.open() as db, db.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)

    def contents(self) -> dict[str, tuple]:
        """The table as another connection sees it: only what was committed."""
        with self.connector.open() as db, db.cursor() as cursor:
            cursor.execute(f"SELECT part_no, description, qty FROM {self.table}")
            return {row[0]: (row[1], row[2]) for row in cursor.fetchall()}


@pytest.fixture
def server() -> Iterator[Server]:
    server = Server(MSSQL_TEST_URL)
    t, k = server.table, server.keys
    server.run(
        f"CREATE TABLE {t} (part_no nvarchar(32) NOT NULL PRIMARY KEY, "
        "description nvarchar(20) NOT NULL, qty int NULL, rv rowversion)",
        f"CREATE VIEW {t}_v AS SELECT part_no, qty FROM {t}",
        f"CREATE TABLE {k} (id int NOT NULL PRIMARY KEY, code nvarchar(16) NOT NULL UNIQUE, "
        "grp int NULL, optional nvarchar(16) NULL)",
        f"CREATE UNIQUE INDEX {k}_optional ON {k} (optional) WHERE optional IS NOT NULL",
        f"CREATE UNIQUE INDEX {k}_pair ON {k} (grp, code)",
    )
    try:
        yield server
    finally:
        server.run(f"DROP VIEW {t}_v", f"DROP TABLE {t}", f"DROP TABLE {k}")


@pytest.fixture
def db(server):
    with server.connector.open() as wrapper:
        yield wrapper


def parts(count: int, *, start: int = 1, text: str = "Part") -> list[dict]:
    return [
        {"part_no": f"P-{n:05d}", "description": f"{text} {n}", "qty": n}
        for n in range(start, start + count)
    ]


def upsert(server: Server, db, rows: list[dict]):
    return upsert_rows(
        db,
        kind="mssql",
        object_name=server.table,
        key="part_no",
        rows=rows,
        secrets=[server.password],
    )


def test_a_merge_inserts_updates_is_idempotent_and_the_last_duplicate_wins(server, db):
    assert upsert(server, db, parts(3)) == []
    changed = [
        {"part_no": "P-00002", "description": "first", "qty": None},
        {"part_no": "P-00004", "description": "new", "qty": 4},
        {"part_no": "P-00002", "description": "last", "qty": 0},
    ]

    assert upsert(server, db, changed) == []
    assert upsert(server, db, changed) == []
    assert server.contents() == {
        "P-00001": ("Part 1", 1),
        "P-00002": ("last", 0),
        "P-00003": ("Part 3", 3),
        "P-00004": ("new", 4),
    }
    assert db.get_autocommit()


def test_a_refused_row_fails_alone_with_its_external_id(server, db):
    rows = parts(5)
    rows[1]["description"] = None  # NOT NULL
    rows[3]["description"] = "x" * 21  # longer than nvarchar(20)

    failures = upsert(server, db, rows)

    assert [f.external_id for f in failures] == ["P-00002", "P-00004"]
    assert all("\n" not in f.message for f in failures)
    assert not server.password or all(server.password not in f.message for f in failures)
    assert set(server.contents()) == {"P-00001", "P-00003", "P-00005"}


def test_thousands_of_rows_are_merged_in_chunks_and_fetched_back_in_chunks(server, db):
    assert upsert(server, db, parts(2500)) == []

    rows = fetch_rows(
        db,
        kind="mssql",
        object_name=server.table,
        key="part_no",
        columns=["description", "qty"],
        keys=[f"P-{n:05d}" for n in range(1, 2601)],
    )

    assert len(rows) == 2500 and len(server.contents()) == 2500
    assert {"part_no": "P-00007", "description": "Part 7", "qty": 7} in rows


def test_keys_equal_under_a_case_insensitive_collation_end_as_one_row(server, db):
    with db.cursor() as cursor:
        cursor.execute("SELECT CASE WHEN N'abc' = N'ABC' THEN 1 ELSE 0 END")
        case_insensitive = cursor.fetchone()[0] == 1
    rows = [
        {"part_no": "abc", "description": "lower", "qty": 1},
        {"part_no": "ABC", "description": "upper", "qty": 2},
    ]

    failures = upsert(server, db, rows)

    assert failures == []  # MERGE refuses the pair; row by row, the second updates the first
    contents = server.contents()
    if case_insensitive:
        assert len(contents) == 1 and next(iter(contents.values())) == ("upper", 2)
    else:
        assert len(contents) == 2


def test_delta_pages_on_a_rowversion_read_every_row_once_and_then_only_changes(server, db):
    upsert(server, db, parts(25))

    def read_all(after):
        upper = max_value(db, server.table, "rv")
        seen = []
        while True:
            page = select_batch(
                db,
                kind="mssql",
                object_name=server.table,
                columns=["description"],
                key="part_no",
                cursor_field="rv",
                after=after,
                upper=upper,
                limit=10,
            )
            if not page:
                return seen, after
            seen += [row["part_no"] for row in page]
            # The cursor as the engine keeps it between batches: JSON in the database.
            stored = json.loads(json.dumps(cursors.encode(page[-1]["rv"])))
            after = (cursors.decode(stored), page[-1]["part_no"])

    first, after = read_all(None)
    upsert(server, db, [{"part_no": "P-00013", "description": "Changed", "qty": 13}])
    second, _ = read_all(after)

    assert sorted(first) == [f"P-{n:05d}" for n in range(1, 26)] and len(set(first)) == 25
    assert isinstance(after[0], bytes) and len(after[0]) == 8
    assert second == ["P-00013"]


def test_key_is_unique_follows_primary_keys_and_unfiltered_single_column_unique_indexes(server, db):
    def unique(object_name: str, key: str) -> bool:
        return key_is_unique(db, object_name=object_name, key=key)

    assert unique(server.table, "part_no")
    assert unique(f"dbo.{server.table}", "part_no")
    assert unique(server.keys, "id") and unique(server.keys, "code")
    assert not unique(server.keys, "grp")  # only in a two-column index
    assert not unique(server.keys, "optional")  # a filtered index
    assert not unique(f"{server.table}_v", "part_no")  # a view
    assert not unique(f"nope_{os.getpid()}.{server.table}", "part_no")


def test_key_caster_reads_sql_servers_type_names(server):
    columns = {c.name: c.data_type for c in server.connector.describe(server.keys)}

    assert key_caster(columns["id"])("42") == 42
    assert key_caster(columns["code"])("A-1") == "A-1"
