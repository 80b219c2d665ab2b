"""Sync throughput: an ERP equipment table of N rows in MariaDB (or PostgreSQL) brought into the
QMS by the sync engine, beside a raw baseline doing the same reads and inserts by hand.

Prints, side by side in one run:
  - a raw baseline: read the rows with the same driver, insert them into the QMS table with
    executemany in batches (no mapping, no validation, no services, no links);
  - a full sync of the same rows (rows/s, and the ratio to the raw baseline);
  - a delta run after 1 % of the rows changed at the source, and a delta run with no change;
  - peak Python memory (tracemalloc) of full runs of 10,000 rows and of N rows (it must not grow
    with N: batches bound it).

    .venv/bin/python bench/sync_throughput.py [--rows 100000] [--batch-size 1000]
                                              [--source mariadb|postgresql]

The QMS side is a throw-away SQLite database under a temporary EQMS_VAR_DIR unless DATABASE_URL
is set (then give it a database of its own: the bench migrates it and empties the equipment and
sync tables). The source is a table of its own in the local server's `test` database, dropped
at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("EQMS_VAR_DIR", tempfile.mkdtemp(prefix="eqms-bench-"))
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("CACHE_URL", "locmemcache://")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eqms_integration.settings")

import django

django.setup()

from django.conf import settings

# DEBUG only spares the bench a SECRET_KEY; with it on, Django keeps the text of the last 9,000
# queries of every connection (bulk inserts of 1,000 rows included), which production never does
# and which would swamp the memory figures below.
settings.DEBUG = False

from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from quality.models import Equipment
from sync.engine.runner import execute
from sync.models import Connection, SyncConfiguration, SyncLink, SyncRun, SyncState
from sync.services import configuration_create
from sync.services.runs import run_start

T0 = datetime(2026, 1, 1, 6, 0, 0)
COLUMNS = "equipment_no, description, status_code, calibration, changed_at"
SOURCES = {
    "mariadb": {
        "connection": {"kind": "mysql", "host": "127.0.0.1", "port": 3306, "database": "test",
                       "username": "root"},
        "create": "CREATE TABLE {t} (equipment_no varchar(32) PRIMARY KEY, description "
                  "varchar(200), status_code varchar(4), calibration varchar(20), "
                  "changed_at datetime(6) NULL, KEY {t}_changed (changed_at, equipment_no))",
    },
    "postgresql": {
        "connection": {"kind": "postgresql", "host": "127.0.0.1", "port": 5432,
                       "database": "test", "username": "postgres"},
        "create": "CREATE TABLE {t} (equipment_no varchar(32) PRIMARY KEY, description "
                  "varchar(200), status_code varchar(4), calibration varchar(20), "
                  "changed_at timestamp NULL); CREATE INDEX {t}_changed ON {t} "
                  "(changed_at, equipment_no)",
    },
}  # fmt: skip


def source_db(kind: str):
    if kind == "mariadb":
        import MySQLdb

        return MySQLdb.connect(host="127.0.0.1", port=3306, user="root", database="test",
                               autocommit=True)  # fmt: skip
    import psycopg

    return psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test",
                           autocommit=True)  # fmt: skip


def fill(db, table: str, count: int) -> None:
    cursor = db.cursor()
    for start in range(0, count, 5000):
        rows = [
            (f"EQ-{n:07d}", f"Gauge {n}", "AMR"[n % 3], "2027-03-01", T0 + timedelta(seconds=n))
            for n in range(start + 1, min(start + 5000, count) + 1)
        ]
        insert = f"INSERT INTO {table} ({COLUMNS}) VALUES (%s, %s, %s, %s, %s)"  # noqa: S608
        cursor.executemany(insert, rows)


def reset_qms() -> None:
    SyncLink.objects.all().delete()
    SyncState.objects.all().delete()
    SyncRun.objects.all().delete()
    Equipment.objects.all().delete()


def configure(kind: str, table: str, batch_size: int) -> SyncConfiguration:
    fields = SOURCES[kind]["connection"]
    conn, _ = Connection.objects.get_or_create(name=f"bench {kind}", defaults=fields)
    SyncConfiguration.objects.filter(name=f"bench {table}").delete()
    return configuration_create(
        name=f"bench {table}", system_type="erp", connection=conn, entity_type="equipment",
        sync_type="delta", remote_object=table, remote_key="equipment_no",
        delta_field="changed_at", batch_size=batch_size, timeout_seconds=86400,
        field_mappings=[
            {"local": "name", "remote": "description", "transform": "trim"},
            {"local": "status", "remote": "status_code", "transform": {
                "type": "map", "values": {"A": "active", "M": "maintenance", "R": "retired"}}},
            {"local": "calibration_due_date", "remote": "calibration", "transform": "date"},
        ],
    )  # fmt: skip


def sync(config: SyncConfiguration, full: bool = False) -> tuple[SyncRun, float]:
    run = run_start(config=config, trigger="bench", full=full)
    started = time.perf_counter()
    run = execute(run)
    elapsed = time.perf_counter() - started
    if run.status != "success":
        raise SystemExit(f"run {run.pk} ended {run.status}: {run.error}")
    return run, elapsed


def raw_baseline(db, table: str, batch_size: int) -> tuple[int, float]:
    """The same rows read with the same driver and inserted by hand: the floor."""
    reader = db.cursor()
    started = time.perf_counter()
    reader.execute(f"SELECT {COLUMNS} FROM {table} ORDER BY equipment_no")  # noqa: S608
    now, count = timezone.now(), 0
    status = {"A": "active", "M": "maintenance", "R": "retired"}
    sql = ("INSERT INTO quality_equipment (number, name, category, location, manufacturer, "
           "model, serial_number, status, calibration_due_date, created_at, updated_at) "
           "VALUES (%s, %s, '', '', '', '', '', %s, %s, %s, %s)")  # fmt: skip
    while rows := reader.fetchmany(batch_size):
        with transaction.atomic(), connection.cursor() as writer:
            writer.executemany(sql, [(r[0], r[1], status[r[2]], r[3], now, now) for r in rows])
        count += len(rows)
    return count, time.perf_counter() - started


def traced_peak(config: SyncConfiguration) -> tuple[int, float]:
    reset_qms()
    tracemalloc.start()
    try:
        run, _ = sync(config, full=True)
        return run.processed, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--source", choices=sorted(SOURCES), default="mariadb")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    db = source_db(args.source)
    big, small = f"bench_erp_{os.getpid()}", f"bench_erp_small_{os.getpid()}"
    for table, count in ((big, args.rows), (small, 10_000)):
        for statement in SOURCES[args.source]["create"].format(t=table).split("; "):
            db.cursor().execute(statement)
        fill(db, table, count)
    print(f"source: {args.source}, {args.rows:,} rows; QMS database: {connection.vendor}; "
          f"batches of {args.batch_size:,}")  # fmt: skip
    try:
        reset_qms()
        raw_rows, raw_seconds = raw_baseline(db, big, args.batch_size)
        reset_qms()
        config = configure(args.source, big, args.batch_size)
        full, full_seconds = sync(config)
        changed = max(1, args.rows // 100)
        step = args.rows // changed
        db.cursor().executemany(
            f"UPDATE {big} SET description = %s, changed_at = %s WHERE equipment_no = %s",  # noqa: S608
            [(f"Gauge {n} (recalibrated)", T0 + timedelta(days=400, seconds=n), f"EQ-{n:07d}")
             for n in range(1, args.rows + 1, step)],
        )  # fmt: skip
        delta, delta_seconds = sync(config)
        idle, idle_seconds = sync(config)
        peaks = [traced_peak(configure(args.source, small, args.batch_size)),
                 traced_peak(config)]  # fmt: skip
    finally:
        for table in (big, small):
            db.cursor().execute(f"DROP TABLE IF EXISTS {table}")
        db.close()

    raw_rate = raw_rows / raw_seconds
    print(f"\n{'scenario':<34}{'rows':>10}{'seconds':>10}{'rows/s':>11}{'raw/engine':>12}")
    for name, rows, seconds in (
        ("raw read + executemany (floor)", raw_rows, raw_seconds),
        ("full sync", full.processed, full_seconds),
        (f"delta after {changed:,} rows changed", delta.processed, delta_seconds),
        ("delta with nothing changed", idle.processed, idle_seconds),
    ):
        rate = rows / seconds if seconds else 0
        ratio = f"{raw_rate / rate:.1f}x" if rows and rate else "-"
        print(f"{name:<34}{rows:>10,}{seconds:>10.2f}{rate:>11,.0f}{ratio:>12}")
    print(f"\nfull-run counts: created {full.created:,}; delta run: updated {delta.updated:,}, "
          f"skipped {delta.skipped:,}; idle run read {idle.processed} rows")  # fmt: skip
    print(f"\n{'peak Python memory of a full run':<34}{'rows':>10}{'MiB':>10}")
    for rows, mib in peaks:
        print(f"{'':<34}{rows:>10,}{mib:>10.1f}")
    print(f"{'growth from 10,000 to N rows':<34}{'':>10}{peaks[1][1] / peaks[0][1]:>9.2f}x")


if __name__ == "__main__":
    main()
