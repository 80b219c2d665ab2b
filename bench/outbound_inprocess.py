"""Outbound full runs in-process, to profile and time the engine without the stack around it.

    .venv/bin/python bench/outbound_inprocess.py [--rows 50000] [--target pg|mariadb]
        [--repeat 1] [--timing] [--statements]

Creates a database of its own on the local PostgreSQL (`bench_outbound_<pid>`, dropped at the
end), migrates it, fills `quality_equipment` with ROWS rows (1,000 sharing each `updated_at`,
as batches written by an inbound run do) and runs `execute()` of a full outbound run of the
bench's configuration (bench/sync_throughput.py's OUT_MAPPINGS) into a table in the `test`
database (PostgreSQL) or the `test` database of the local MariaDB, emptied before each run.
Prints rows/s, the process's CPU seconds and the load average per run. `--timing`: wall
seconds per engine step (page read, items, settle, links, external upsert, commit);
`--statements`: the QMS statements the run sent through Django, by kind (COPY and COMMIT are
not among them). Run it under `var/bench-peers-venv/bin/py-spy record --idle --format raw -o
FILE --` for a profile, then bench/pyspy_top.py FILE --within runner.py.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from sync_throughput import OUT_MAPPINGS

PG_OUT = "bench_outbound_out"
TIMES: collections.Counter = collections.Counter()
CALLS: collections.Counter = collections.Counter()
STATEMENTS: collections.Counter = collections.Counter()


def timed(owner: object, name: str) -> None:
    function: Callable = getattr(owner, name)
    label = f"{getattr(owner, '__name__', owner)}.{name}"

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            TIMES[label] += time.perf_counter() - started
            CALLS[label] += 1

    setattr(owner, name, wrapper)


def count(execute_sql, sql, params, many, context):
    STATEMENTS[" ".join(sql.split())[:70]] += 1
    return execute_sql(sql, params, many, context)


def instrument() -> None:
    from sync.connectors.sql import session
    from sync.engine import local, outbound, phases, settle

    for owner, name in (
        (outbound.OutboundPhase, "items"),
        (session.SQLSession, "fetch"),
        (session.SQLSession, "upsert"),
        (settle.Settler, "settle"),
        (settle.Settler, "_save_links"),
        (phases.PhaseBase, "commit_batch"),
        (phases.PhaseBase, "after_batch"),
    ):
        timed(owner, name)
    pages = local.LocalStore.changed_rows

    def changed_rows(self, *args, **kwargs) -> Iterator[list]:
        read = pages(self, *args, **kwargs)
        while True:
            started = time.perf_counter()
            page = next(read, None)
            TIMES["page read"] += time.perf_counter() - started
            CALLS["page read"] += 1
            if page is None:
                return
            yield page

    local.LocalStore.changed_rows = changed_rows


def fill(rows: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO quality_equipment (number, name, category, location, manufacturer, "
            "model, serial_number, status, calibration_due_date, created_at, updated_at) "
            "SELECT 'EQ-' || lpad(n::text, 7, '0'), 'Gauge ' || n, '', '', '', '', '', "
            "(ARRAY['active','maintenance','retired'])[n %% 3 + 1], date '2027-01-01' + n %% 365,"
            " now() - interval '1 day', now() - interval '1 day' + (n / 1000) * interval '1 ms' "
            "FROM generate_series(1, %s) n",
            [rows],
        )
        cursor.execute("ANALYZE quality_equipment")


def configuration(target: str):
    from sync.services.configurations import configuration_create
    from sync.services.connections import connection_create

    if target == "pg":
        fields = {"kind": "postgresql", "port": 5432, "username": "postgres"}
        table = f"public.{PG_OUT}"
    else:
        fields = {"kind": "mysql", "port": 3306, "username": "root"}
        table = PG_OUT
    connection = connection_create(name=target, host="127.0.0.1", database="test", **fields)
    return configuration_create(
        name=f"outbound {target}",
        system_type="ERP",
        connection=connection,
        entity_type="equipment",
        sync_direction="outbound",
        sync_type="delta",
        remote_object=table,
        remote_key="equipment_no",
        delta_field="changed_at",
        field_mappings=OUT_MAPPINGS,
        batch_size=1000,
        timeout_seconds=86400,
        max_retries=0,
    )


@contextlib.contextmanager
def target_table(target: str) -> Iterator[Callable[[], None]]:
    columns = "(equipment_no varchar(32) PRIMARY KEY, description varchar(200), "
    if target == "pg":
        db = psycopg.connect(host="127.0.0.1", user="postgres", dbname="test", autocommit=True)
        db.execute(
            f"CREATE TABLE {PG_OUT} {columns}status_code varchar(4), calibration date, "
            "changed_at timestamp)"
        )
        try:
            yield lambda: db.execute(f"TRUNCATE {PG_OUT}")
        finally:
            db.execute(f"DROP TABLE {PG_OUT}")
        return
    import MySQLdb

    db = MySQLdb.connect(host="127.0.0.1", user="root", database="test", autocommit=True)
    db.cursor().execute(
        f"CREATE TABLE {PG_OUT} {columns}status_code varchar(4), "
        "calibration date, changed_at datetime(6))"
    )
    try:
        yield lambda: db.cursor().execute(f"TRUNCATE {PG_OUT}")
    finally:
        db.cursor().execute(f"DROP TABLE {PG_OUT}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--target", choices=["pg", "mariadb"], default="pg")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--timing", action="store_true")
    parser.add_argument("--statements", action="store_true")
    args = parser.parse_args()
    name = f"bench_outbound_{os.getpid()}"
    admin = psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True)
    admin.execute(f"CREATE DATABASE {name}")
    os.environ.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{name}",
        SECRET_KEY=secrets.token_urlsafe(50),
        SYNC_ALLOWED_NETWORKS="127.0.0.1/32",
        SYNC_LOCAL_SETTLE_SECONDS="0",
        DJANGO_SETTINGS_MODULE="eqms_integration.settings",
    )
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection, connections

        call_command("migrate", verbosity=0)
        fill(args.rows)
        from sync.engine.runner import execute
        from sync.models import SyncLink
        from sync.services.runs import run_start

        if args.timing:
            instrument()
        with target_table(args.target) as empty:
            config = configuration(args.target)
            for _ in range(args.repeat):
                empty()
                SyncLink.objects.filter(configuration=config).delete()
                run = run_start(config=config, trigger="command", full=True)
                load = os.getloadavg()[0]
                TIMES.clear(), CALLS.clear(), STATEMENTS.clear()
                started, cpu = time.perf_counter(), time.process_time()
                with (
                    connection.execute_wrapper(count)
                    if args.statements
                    else contextlib.nullcontext()
                ):
                    execute(run)
                wall, cpu = time.perf_counter() - started, time.process_time() - cpu
                run.refresh_from_db()
                print(
                    f"{args.target}: {run.status}, {run.processed:,} rows in {wall:.2f} s = "
                    f"{run.processed / wall:,.0f} rows/s, process CPU {cpu:.2f} s, "
                    f"load {load:.2f} (failed {run.failed})",
                    flush=True,
                )
                for label, seconds in TIMES.most_common():
                    each = 1000 * seconds / CALLS[label]
                    print(f"  {label:28} {seconds:7.3f} s {each:7.2f} ms/call")
                for text, calls in STATEMENTS.most_common(12):
                    print(f"  {calls:6}  {text}")
        connections.close_all()
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
