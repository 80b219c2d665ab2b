"""Tables in real databases playing an ERP's equipment master, written with their own drivers."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from tests.conftest import need_service

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}
MARIADB = {"host": "127.0.0.1", "port": 3306, "user": "root", "database": "test"}

COLUMNS = "equipment_no, description, status_code, calibration, changed_at"


class Source:
    kind: str
    table: str
    placeholder = "%s"

    def connection_fields(self) -> dict:
        raise NotImplementedError

    @contextmanager
    def cursor(self) -> Iterator:
        raise NotImplementedError

    def create(self) -> None:
        with self.cursor() as cur:
            cur.execute(
                f"CREATE TABLE {self.table} (equipment_no varchar(32) PRIMARY KEY, "
                "description varchar(200), status_code varchar(4), calibration varchar(20), "
                "changed_at timestamp NULL)"
            )

    def drop(self) -> None:
        with self.cursor() as cur:
            cur.execute(f"DROP TABLE {self.table}")

    def insert(self, rows: list[tuple]) -> None:
        marks = ", ".join([self.placeholder] * 5)
        with self.cursor() as cur:
            cur.executemany(f"INSERT INTO {self.table} ({COLUMNS}) VALUES ({marks})", rows)

    def all(self) -> dict[str, tuple]:
        """Every row as {equipment_no: (description, status_code, calibration, changed_at)}."""
        with self.cursor() as cur:
            cur.execute(f"SELECT {COLUMNS} FROM {self.table}")
            return {row[0]: tuple(row[1:]) for row in cur.fetchall()}

    def delete(self, number: str) -> None:
        with self.cursor() as cur:
            cur.execute(
                f"DELETE FROM {self.table} WHERE equipment_no = {self.placeholder}", (number,)
            )

    def update(self, number: str, description: str, changed_at: datetime) -> None:
        p = self.placeholder
        with self.cursor() as cur:
            cur.execute(
                f"UPDATE {self.table} SET description = {p}, changed_at = {p} "
                f"WHERE equipment_no = {p}",
                (description, changed_at, number),
            )


class SQLiteSource(Source):
    kind = "sqlite"
    placeholder = "?"

    def __init__(self, folder: Path) -> None:
        self.path = folder / "erp.sqlite3"
        self.table = "erp_equipment"

    def connection_fields(self) -> dict:
        return {"kind": "sqlite", "database": str(self.path)}

    @contextmanager
    def cursor(self) -> Iterator:
        db = sqlite3.connect(self.path)
        try:
            yield db.cursor()
            db.commit()
        finally:
            db.close()


class PostgresSource(Source):
    kind = "postgresql"

    def __init__(self) -> None:
        import psycopg

        try:
            psycopg.connect(**PG, connect_timeout=3).close()
        except psycopg.OperationalError as exc:
            need_service(False, f"PostgreSQL at 127.0.0.1:5432 ({exc})")
        self.table = f"erp_equipment_{os.getpid()}"

    def connection_fields(self) -> dict:
        return {
            "kind": "postgresql",
            "host": PG["host"],
            "port": PG["port"],
            "database": PG["dbname"],
            "username": PG["user"],
        }

    @contextmanager
    def cursor(self) -> Iterator:
        import psycopg

        with psycopg.connect(**PG, autocommit=True) as db:
            yield db.cursor()


class MariaDBSource(Source):
    kind = "mysql"

    def __init__(self) -> None:
        try:
            import MySQLdb
        except ImportError as exc:
            need_service(False, f"mysqlclient ({exc})")
        try:
            MySQLdb.connect(
                host=MARIADB["host"],
                port=MARIADB["port"],
                user=MARIADB["user"],
                database=MARIADB["database"],
                connect_timeout=3,
            ).close()
        except MySQLdb.OperationalError as exc:
            need_service(False, f"MariaDB at 127.0.0.1:3306 ({exc})")
        self.table = f"erp_equipment_{os.getpid()}"

    def connection_fields(self) -> dict:
        return {
            "kind": "mysql",
            "host": MARIADB["host"],
            "port": MARIADB["port"],
            "database": MARIADB["database"],
            "username": MARIADB["user"],
        }

    @contextmanager
    def cursor(self) -> Iterator:
        import MySQLdb

        db = MySQLdb.connect(
            host=MARIADB["host"],
            port=MARIADB["port"],
            user=MARIADB["user"],
            database=MARIADB["database"],
            autocommit=True,
        )
        try:
            yield db.cursor()
        finally:
            db.close()
