"""External databases and APIs playing the ERP: real SQLite files, the local PostgreSQL and
MariaDB servers, and an HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import need_service
from tests.sync.sources import MARIADB, PG, MariaDBSource, PostgresSource, SQLiteSource


@pytest.fixture(autouse=True)
def _erps_are_allowed(sync_test_systems) -> None:
    """Every sync test talks to ERPs on 127.0.0.1 or in tmp_path (see sync_test_systems)."""


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def source(request, tmp_path):
    src = {
        "sqlite": lambda: SQLiteSource(tmp_path),
        "postgresql": PostgresSource,
        "mariadb": MariaDBSource,
    }[request.param]()
    src.create()
    yield src
    src.drop()


@pytest.fixture
def erp_sqlite(tmp_path) -> Path:
    path = tmp_path / "erp.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE equipment (equipment_no TEXT PRIMARY KEY, description TEXT NOT NULL,"
            " changed_at TIMESTAMP)"
        )
        db.execute("CREATE TABLE secret_table (x INTEGER)")
    return path


@pytest.fixture
def erp_postgres() -> Iterator[dict]:
    import psycopg

    try:
        db = psycopg.connect(**PG, connect_timeout=3, autocommit=True)
    except psycopg.OperationalError as exc:
        need_service(False, f"PostgreSQL at 127.0.0.1:5432 ({exc})")
    schema = f"erp_{os.getpid()}"
    db.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    db.execute(
        f'CREATE TABLE "{schema}".suppliers (vendor_id integer PRIMARY KEY, '
        "vendor_name varchar(200) NOT NULL, updated timestamptz)"
    )
    try:
        yield {**PG, "schema": schema}
    finally:
        db.execute(f'DROP SCHEMA "{schema}" CASCADE')
        db.close()


@pytest.fixture
def erp_mariadb() -> Iterator[dict]:
    try:
        import MySQLdb
    except ImportError as exc:
        need_service(
            False, f"mysqlclient ({exc}); install libmariadb-dev and requirements-mysql.txt"
        )
    try:
        db = MySQLdb.connect(
            host=MARIADB["host"],
            port=MARIADB["port"],
            user=MARIADB["user"],
            database=MARIADB["database"],
            connect_timeout=3,
        )
    except MySQLdb.OperationalError as exc:
        need_service(False, f"MariaDB at 127.0.0.1:3306 ({exc})")
    table = f"mes_orders_{os.getpid()}"
    cursor = db.cursor()
    cursor.execute(f"CREATE TABLE `{table}` (order_no varchar(32) PRIMARY KEY, qty int NULL)")
    try:
        yield {**MARIADB, "table": table}
    finally:
        cursor.execute(f"DROP TABLE `{table}`")
        db.close()


class _Handler(BaseHTTPRequestHandler):
    token = "s3cret-token-value"

    def do_GET(self) -> None:
        ok = self.headers.get("Authorization") == f"Bearer {self.token}"
        body = json.dumps({"items": []} if ok else {"error": "unauthorized"}).encode()
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def erp_rest() -> Iterator[dict]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"base_url": f"http://127.0.0.1:{server.server_port}/api/", "token": _Handler.token}
    finally:
        server.shutdown()
        server.server_close()
