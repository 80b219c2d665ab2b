"""Sync throughput (issue 15), through public interfaces only, beside dlt and a raw floor.

An ERP equipment table of --rows rows (key, description, status code, calibration date, change
timestamp) in a schema of its own in the local PostgreSQL `test` database; the QMS in production
shape (bench/stack.py: PostgreSQL, Redis, gunicorn, worker, beat). The connection and the
configuration (inbound, equipment, batches of --batch-size, delta on the change timestamp) are
created over REST with an API key; `manage.py run_sync` runs as a subprocess under
`/usr/bin/time -v` (peak RSS), and durations and counts come from the run log over REST
(`GET /api/sync/logs/{id}/`). Printed side by side in one run:

  ours      full run, then a delta run after 1 % of the rows changed at the source, then an
            idle delta run; peak memory at 10,000 rows and at --rows; the same full run into an
            SQLite QMS (the embedded stack: SQLite, file broker, file cache); outbound full
            runs QMS -> PostgreSQL table and QMS -> MariaDB table;
  dlt       `sql_table` -> `postgres`, merge on the key, incremental on the change timestamp,
            sqlalchemy and pyarrow backends (bench/dlt_peer.py, in the bench-only virtualenv
            made from bench/requirements-peers.txt): full, delta of the same 1 %, idle;
  floor     the rows the engine writes (equipment and its links, found through SQL) written
            with COPY (bench/sync_floor.py): full, delta, idle.

    .venv/bin/python bench/sync_throughput.py [--rows 100000] [--batch-size 1000]
        [--only ours,noaudit,sqlite,sqlite-noaudit,outbound,memory,dlt,floor] [--profile DIR]

`noaudit` adds the audit-off full runs (PostgreSQL series and, with `sqlite`, the SQLite one);
`sqlite-noaudit` the SQLite one alone. Without any of ours/noaudit/outbound/memory/floor no
PostgreSQL QMS stack is started.

--profile DIR runs ours' full, first delta (a rescan) and 1 % delta runs under py-spy
(DIR/run_sync-full-pyspy.txt, ...;
summarise with bench/pyspy_top.py) on a private PostgreSQL with pg_stat_statements, and writes
the QMS-side queries per batch to DIR/queries-full.txt. With `--only sqlite` (no PostgreSQL
QMS lines) it runs the SQLite full run under py-spy instead (DIR/run_sync-sqlite-full-pyspy.txt).
"""

# ruff: noqa: S608 - identifiers in SQL are the bench's own (bench_erp_<pid>, its tables)
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import requests
import stack as stack_module
from stack import (
    PYTHON,
    ROOT,
    PrivatePostgres,
    Stack,
    ok,
    peers_bin,
    pg_connect,
    raise_on_sigterm,
)

HERE = Path(__file__).resolve().parent
SCOPES = ["sync:read", "sync:manage", "sync:execute", "equipment:read", "equipment:write"]
MAPPINGS = [
    {"local": "name", "remote": "description", "transform": "trim"},
    {
        "local": "status",
        "remote": "status_code",
        "transform": {"type": "map", "values": {"A": "active", "M": "maintenance", "R": "retired"}},
    },
    {"local": "calibration_due_date", "remote": "calibration", "transform": "date"},
]
OUT_MAPPINGS = [{"local": "name", "remote": "description"}, *MAPPINGS[1:]]
PG_TABLE = (
    "CREATE TABLE {t} (equipment_no varchar(32) PRIMARY KEY, description varchar(200), "
    "status_code varchar(4), calibration date, changed_at timestamp)"
)
MARIADB_TABLE = (
    "CREATE TABLE {t} (equipment_no varchar(32) PRIMARY KEY, description "
    "varchar(200), status_code varchar(4), calibration date, changed_at datetime(6))"
)
# The audit trail of bulk-written records off, to show what it costs (sync.W001 warns).
NO_AUDIT = {"SYNC_AUDIT_RECORDS": "false"}
# The --only lines that need the PostgreSQL QMS stack (the others: the embedded stack, dlt).
PG_LINES = {"ours", "noaudit", "outbound", "memory", "floor"}
RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")
CPU = re.compile(r"(?:User|System) time \(seconds\): ([\d.]+)")


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) of the live processes of a process group (a stack's
    worker and its pool: each was started in a session of its own)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # pgrp; utime and stime follow at 11 and 12
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def use_venv(venv: Path) -> None:
    """The service's processes (gunicorn, celery, manage.py) from another virtualenv."""
    global PYTHON
    stack_module.VENV_BIN = venv / "bin"
    stack_module.PYTHON = PYTHON = str(venv / "bin" / "python")


# --- the ERP side -------------------------------------------------------------------------------
def erp_fill(db, table: str, rows: int, prefix: str) -> None:
    db.execute(PG_TABLE.format(t=table))
    db.execute(
        f"INSERT INTO {table} SELECT %s || lpad(n::text, 7, '0'), 'Gauge ' || n, "
        "(ARRAY['A', 'M', 'R'])[n %% 3 + 1], date '2027-01-01' + n %% 365, "
        "timestamp '2026-01-01 06:00' + n * interval '1 second' FROM generate_series(1, %s) n",
        [prefix, rows],
    )
    db.execute(f"CREATE INDEX ON {table} (changed_at, equipment_no)")
    db.execute(f"ANALYZE {table}")


def erp_change(db, table: str, rows: int, tag: str, round_: int) -> int:
    """1 % of the rows get a new description and a change timestamp past every earlier one."""
    step = 100
    result = db.execute(
        f"UPDATE {table} SET description = 'Gauge ' || right(equipment_no, 7)::int || %s, "
        "changed_at = timestamp '2030-01-01' + %s * interval '1 year' "
        "+ right(equipment_no, 7)::int * interval '1 second' "
        "WHERE right(equipment_no, 7)::int %% %s = 0",
        [f" ({tag})", round_, step],
    )
    return result.rowcount


# --- ours ---------------------------------------------------------------------------------------
@dataclass
class Result:
    label: str
    rows: int
    seconds: float  # as the run measured itself (ours: the run log's duration)
    wall: float  # the process, start-up included
    rss_mib: float | None = None
    detail: str = ""
    cpu: float | None = None  # the process's CPU seconds, user + system
    worker_cpu: float | None = None  # the stack's worker (the sealer's beat tasks) meanwhile

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def __post_init__(self) -> None:
        rss = f", peak RSS {self.rss_mib:.0f} MiB" if self.rss_mib else ""
        if self.cpu is not None:
            rss += f", CPU {self.cpu:.2f} s"
        if self.worker_cpu is not None:
            rss += f", worker CPU meanwhile {self.worker_cpu:.2f} s"
        print(
            f"  {self.label}: {self.rows:,} rows in {self.seconds:.3f} s "
            f"(process {self.wall:.2f} s{rss}) {self.detail}",
            flush=True,
        )


def timed(
    argv: list[str], env: dict | None = None, cwd: Path = ROOT, profile: Path | None = None
) -> tuple[subprocess.CompletedProcess, float, float | None]:
    """Run argv; (result, wall seconds, peak RSS MiB). Under py-spy when profiling."""
    if profile is not None:
        argv = [
            str(peers_bin() / "py-spy"),
            "record",
            "--idle",
            "--format",
            "raw",
            "--rate",
            "100",
            "--output",
            str(profile),
            "--",
            *argv,
        ]
    else:
        argv = ["/usr/bin/time", "-v", *argv]
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)  # noqa: S603
    wall = time.perf_counter() - started
    match = RSS.search(result.stderr)
    return result, wall, int(match[1]) / 1024 if match else None


def sealed_after(stack: Stack, timeout: float = 600) -> float:
    """Seconds until every audit event of the embedded stack has its seal (the sealer runs
    on the worker's beat), read from the SQLite file directly."""
    import sqlite3

    started = time.monotonic()
    db = sqlite3.connect(f"file:{stack.var_dir / 'db.sqlite3'}?mode=ro", uri=True, timeout=30)
    try:
        while True:
            (waiting,) = db.execute(
                "SELECT count(*) FROM audit_auditevent e WHERE NOT EXISTS "
                "(SELECT 1 FROM audit_auditseal s WHERE s.event_id = e.id)"
            ).fetchone()
            if not waiting:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"{waiting} audit events still unsealed after {timeout} s")
            time.sleep(0.5)
    finally:
        db.close()


def admin_session(stack: Stack) -> requests.Session:
    """A session cookie of the admin user (the admin's login form), with its CSRF token."""
    # Production settings serve hashed static file names from collectstatic's manifest: the
    # admin's pages need it (the README's deployment steps run it too).
    stack.manage("collectstatic", "--noinput")
    session = requests.Session()
    login = stack.url("/admin/login/")
    session.get(login).raise_for_status()
    answer = session.post(
        login,
        data={
            "username": "admin",
            "password": stack.admin_password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
            "next": "/admin/",
        },
        headers={"Referer": login},
    )
    answer.raise_for_status()
    if "sessionid" not in session.cookies:
        raise RuntimeError("the admin login failed")
    session.headers.update(
        {
            "X-CSRFToken": session.cookies["csrftoken"],
            "Referer": login,
            "Accept": "application/json",
        }
    )
    return session


class Ours:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.client = stack.client(stack.api_key("bench sync", SCOPES))

    def connection(self, name: str, **fields) -> int:
        """Connections hold credentials: only a person with the Admin role may create one
        (API keys are refused), so this signs in as the stack's admin, as a person would."""
        admin = admin_session(self.stack)
        return ok(
            admin.post(self.stack.url("/api/sync/connections/"), json={"name": name, **fields})
        )["id"]

    def configuration(
        self, name: str, connection: int, remote_object: str, direction: str, batch_size: int
    ) -> int:
        return ok(
            self.client.post(
                self.stack.url("/api/sync/configurations/"),
                json={
                    "name": name,
                    "system_type": "ERP",
                    "connection": connection,
                    "entity_type": "equipment",
                    "sync_direction": direction,
                    "sync_type": "delta",
                    "remote_object": remote_object,
                    "remote_key": "equipment_no",
                    "delta_field": "changed_at",
                    # trim acts on reads only: outbound configurations may not have it.
                    "field_mappings": MAPPINGS if direction != "outbound" else OUT_MAPPINGS,
                    "batch_size": batch_size,
                    "timeout_seconds": 86400,
                    "max_retries": 0,
                },
            )
        )["id"]

    def run(
        self,
        label: str,
        config: int,
        full: bool,
        profile: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> Result:
        argv = self.stack.manage_argv("run_sync", str(config), *(["--full"] if full else []))
        worker = self.stack.processes.get("worker")
        worker_before = group_cpu(worker.popen.pid) if worker else None
        result, wall, rss = timed(argv, env={**self.stack.env, **(env or {})}, profile=profile)
        worker_cpu = group_cpu(worker.popen.pid) - worker_before if worker else None
        cpu = [float(x) for x in CPU.findall(result.stderr)]
        found = re.search(r"Run (\d+) of", result.stdout)
        if found is None:
            raise RuntimeError(f"run_sync printed no run id:\n{result.stdout}\n{result.stderr}")
        log = ok(self.client.get(self.stack.url(f"/api/sync/logs/{found[1]}/")))
        if log["status"] != "success" or result.returncode != 0:
            raise RuntimeError(
                f"{label}: run {log['id']} {log['status']}: {log['error']}\n"
                f"{result.stdout[-1500:]}\n{result.stderr[-1500:]}"
            )
        return Result(
            label,
            log["processed"],
            log["duration_ms"] / 1000,
            wall,
            rss,
            f"created {log['created']}, updated {log['updated']}, unchanged {log['skipped']}",
            sum(cpu) if len(cpu) == 2 else None,
            worker_cpu,
        )


def table_writes(stack: Stack) -> dict[str, tuple[int, int, int]]:
    with stack.sql() as db:
        return {
            name: (ins, upd, dele)
            for name, ins, upd, dele in db.execute(
                "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables"
            )
        }


def writes_between(before: dict, after: dict, rows: int) -> str:
    parts = []
    for name, counts in sorted(after.items()):
        old = before.get(name, (0, 0, 0))
        ins, upd, dele = (new - was for new, was in zip(counts, old, strict=True))
        if ins or upd or dele:
            per_row = f" ({(ins + upd + dele) / rows:.2f}/row)" if rows else ""
            parts.append(f"{name}: +{ins} ~{upd} -{dele}{per_row}")
    return "; ".join(parts)


def qms_count(stack: Stack, sql: str, params: list) -> int:
    with stack.sql() as db:
        return db.execute(sql, params).fetchone()[0]


def expect(what: str, got: int, wanted: int) -> None:
    if got != wanted:
        raise RuntimeError(f"verification failed: {what}: {got}, expected {wanted}")


def audit_events(stack: Stack) -> int:
    return qms_count(stack, "SELECT count(*) FROM audit_auditevent WHERE channel = %s", ["sync"])


def ours_series(
    stack: Stack,
    ours: Ours,
    erp,
    config: int,
    table: str,
    prefix: str,
    args,
    label: str,
    round_: int,
    env: dict[str, str] | None,
    notes: list[str],
) -> dict[str, Result | None]:
    """Full run, the first delta after it (a rescan), a 1 % delta, an idle run; checked."""
    runs: dict[str, Result | None] = {}
    events = audit_events(stack)
    runs["full"] = ours.run(f"{label} full", config, full=True, env=env)
    expect(
        "QMS equipment rows",
        qms_count(
            stack,
            "SELECT count(*) FROM quality_equipment WHERE number LIKE %s",
            [f"{prefix}%"],
        ),
        args.rows,
    )
    # A --full run leaves the delta cursor at the newest row it read: the first delta run
    # after it reads only what changed since (nothing here).
    first = ours.run(f"{label} first delta", config, full=False, env=env)
    moved = "moves" if first.rows == 0 else "does not move"
    notes.append(
        f"{label}: the first delta run after the --full run read {first.rows:,} rows "
        f"({first.detail}) in {first.seconds:.2f} s: a full run {moved} the delta cursor"
    )
    tag = f"ours {round_}"
    changed = erp_change(erp, table, args.rows, tag, round_)
    runs["delta"] = ours.run(f"{label} delta", config, full=False, env=env)
    expect("delta rows read", runs["delta"].rows, changed)
    expect(
        "QMS rows changed by the delta",
        qms_count(
            stack,
            "SELECT count(*) FROM quality_equipment WHERE number LIKE %s AND name LIKE %s",
            [f"{prefix}%", f"% ({tag})"],
        ),
        changed,
    )
    runs["idle"] = ours.run(f"{label} idle", config, full=False, env=env)
    written = audit_events(stack) - events
    wanted = 0 if env and env.get("SYNC_AUDIT_RECORDS") == "false" else args.rows + changed
    expect(f"{label}: audit events of the records written", written, wanted)
    notes.append(
        f"{label}: {written:,} audit events for {args.rows:,} created + {changed:,} updated"
    )
    return runs


# --- the floor ----------------------------------------------------------------------------------
def floor_prepare(stack: Stack, schema: str, config: int) -> None:
    with stack.sql() as db:
        db.execute(f"CREATE SCHEMA {schema}")
        for table in ("quality_equipment", "sync_synclink"):
            db.execute(f"CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING ALL)")
        db.execute(
            f"ALTER TABLE {schema}.sync_synclink ADD FOREIGN KEY (configuration_id) "
            "REFERENCES public.sync_syncconfiguration (id) DEFERRABLE INITIALLY DEFERRED"
        )
        db.execute(f"CREATE TABLE {schema}.state (cursor_value timestamp, cursor_key text)")
        db.execute(f"INSERT INTO {schema}.state VALUES (NULL, NULL)")


def floor_run(
    stack: Stack, label: str, source_table: str, schema: str, config: int, mode: str
) -> Result:
    argv = [
        PYTHON,
        str(HERE / "sync_floor.py"),
        "--source-db",
        "test",
        "--source-table",
        source_table,
        "--qms-db",
        stack.name,
        "--qms-port",
        str(stack.pg_port),
        "--schema",
        schema,
        "--configuration",
        str(config),
        "--mode",
        mode,
    ]
    result, wall, rss = timed(argv)
    if result.returncode:
        raise RuntimeError(f"{label}: {result.stderr[-2000:]}")
    out = json.loads(result.stdout.strip().splitlines()[-1])
    return Result(label, out["rows"], out["seconds"], wall, rss)


# --- dlt ----------------------------------------------------------------------------------------
def dlt_run(
    label: str,
    backend: str,
    schema: str,
    table: str,
    destination_db: str,
    pipelines: Path,
    chunk_size: int | None,
) -> Result:
    argv = [
        str(peers_bin() / "python"),
        str(HERE / "dlt_peer.py"),
        "--source",
        "postgresql+psycopg2://postgres@127.0.0.1:5432/test",
        "--schema",
        schema,
        "--table",
        table,
        # dlt wants a password; the local server trusts the loopback and ignores it.
        "--destination",
        f"postgresql://postgres:unused@127.0.0.1:5432/{destination_db}",
        "--dataset",
        f"erp_{backend}",
        "--pipelines-dir",
        str(pipelines),
        "--backend",
        backend,
        *(["--chunk-size", str(chunk_size)] if chunk_size else []),
    ]
    env = {**os.environ, "RUNTIME__LOG_LEVEL": "WARNING", "DLT_DATA_DIR": str(pipelines)}
    result, wall, rss = timed(argv, env=env, cwd=pipelines)
    if result.returncode:
        raise RuntimeError(f"{label}: {result.stdout[-1000:]}\n{result.stderr[-3000:]}")
    out = json.loads(result.stdout.strip().splitlines()[-1])
    return Result(
        label,
        out["rows"],
        out["seconds"],
        wall,
        rss,
        f"dlt {out['dlt']}, files {','.join(out['file_formats'])}, chunk size {out['chunk_size']}",
    )


# --- the report ---------------------------------------------------------------------------------
def mib(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def report(lines: dict[str, dict[str, Result | None]], reference: Result | None) -> None:
    print(
        f"\n{'':<36}{'full rows/s':>12}{'x ours':>8}{'full s':>8}{'wall s':>8}"
        f"{'delta s':>9}{'rows':>7}{'idle s':>8}{'RSS MiB':>9}{'10k MiB':>9}"
    )
    for name, runs in lines.items():
        full, delta, idle, small = (runs.get(k) for k in ("full", "delta", "idle", "small"))
        # The first line is the reference; it may have moved no rows (e.g. --only outbound).
        comparable = full and reference and reference.rate
        ratio = f"{full.rate / reference.rate:.2f}" if comparable else "-"
        seconds, wall = (f"{full.seconds:.2f}", f"{full.wall:.2f}") if full else ("-", "-")
        print(
            f"{name:<36}{(f'{full.rate:,.0f}' if full else '-'):>12}{ratio:>8}"
            f"{seconds:>8}{wall:>8}"
            f"{(f'{delta.seconds:.3f}' if delta else '-'):>9}{(delta.rows if delta else '-'):>7}"
            f"{(f'{idle.seconds:.3f}' if idle else '-'):>8}{mib(full.rss_mib if full else None):>9}"
            f"{mib(small.rss_mib if small else None):>9}"
        )
    print(
        "\nfull s / delta s / idle s: as each measured itself (ours: the run log's duration; "
        "dlt: pipeline.run; floor: connect to commit). wall s: the whole process, interpreter "
        "and Django/dlt start-up included. RSS: peak resident set of that process "
        "(/usr/bin/time -v); 10k: a full run of a 10,000-row table."
    )


def audit_cost(lines: dict[str, dict[str, Result | None]]) -> None:
    """What the audit trail of the records written costs: each run beside its twin without."""
    for off in [name for name in lines if name.endswith(", audit trail off")]:
        stem = off.removesuffix(", audit trail off")
        on = next((name for name in lines if name.startswith(stem) and name != off), None)
        if on is None:
            continue
        parts = []
        for key in ("full", "delta"):
            with_trail, without = lines[on].get(key), lines[off].get(key)
            if not (with_trail and without and with_trail.seconds and without.seconds):
                continue
            extra = 100 * (with_trail.seconds / without.seconds - 1)
            part = (
                f"{key} {with_trail.seconds:.3f} s vs {without.seconds:.3f} s (+{extra:.0f} % time"
            )
            if key == "full" and without.rate:
                part += f", {100 * (1 - with_trail.rate / without.rate):.0f} % of the rows/s"
            if key == "full" and with_trail.cpu and without.cpu:
                part += f"; run CPU {with_trail.cpu:.2f} s vs {without.cpu:.2f} s"
                if with_trail.worker_cpu is not None and without.worker_cpu is not None:
                    part += (
                        f", worker CPU meanwhile {with_trail.worker_cpu:.2f} s vs "
                        f"{without.worker_cpu:.2f} s"
                    )
            parts.append(part + ")")
        if parts:
            print(f"\naudit trail cost, {on}: " + "; ".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--small-rows", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--only", default="ours,noaudit,sqlite,outbound,memory,dlt,floor")
    parser.add_argument(
        "--venv",
        type=Path,
        help="run the service from this virtualenv (one with mysqlclient for the MariaDB target)",
    )
    parser.add_argument("--dlt-chunk-size", type=int, help="dlt's rows per read (its default)")
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--keep-logs", action="store_true")
    parser.add_argument("--redis-db", type=int, default=9, help="flushed at start and end")
    args = parser.parse_args()
    if args.venv:
        use_venv(args.venv)
    raise_on_sigterm()
    only = set(args.only.split(","))
    tag = os.getpid()
    schema = f"bench_erp_{tag}"
    big, small, out = f"{schema}.equipment", f"{schema}.equipment_small", f"{schema}.qms_out"
    bare = f"{schema}.equipment_bare"
    mariadb_table = f"bench_qms_out_{tag}"
    started = datetime.now().astimezone()
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    lines: dict[str, dict[str, Result | None]] = {}
    notes: list[str] = []
    erp = pg_connect("test")
    mariadb = None
    try:
        erp.execute(f"CREATE SCHEMA {schema}")
        erp_fill(erp, big, args.rows, "EQ-")
        if "memory" in only:
            erp_fill(erp, small, args.small_rows, "EQS-")
        if only & {"noaudit", "sqlite-noaudit"}:
            erp_fill(erp, bare, args.rows, "EQN-")
        erp.execute(PG_TABLE.format(t=out))
        conditions = ""
        if only & PG_LINES:  # else only the embedded stack's lines: no PostgreSQL QMS
            with contextlib.ExitStack() as stacks:
                private = stacks.enter_context(PrivatePostgres()) if args.profile else None
                stack = stacks.enter_context(
                    Stack(
                        name=f"bench_sync_{tag}",
                        web_workers=2,
                        redis_db=args.redis_db,
                        pg_port=private.port if private else 5432,
                        keep_logs=args.keep_logs,
                    )
                )
                conditions = stack.describe() + (" (private PostgreSQL)" if private else "")
                print(f"stack: {conditions}; source: {args.rows:,} rows in test.{big}", flush=True)
                ours = Ours(stack)
                source = ours.connection(
                    "bench erp postgresql",
                    kind="postgresql",
                    host="127.0.0.1",
                    port=5432,
                    database="test",
                    username="postgres",
                )
                inbound = ours.configuration(
                    "bench inbound", source, big, "inbound", args.batch_size
                )
                if args.profile:
                    profile(stack, ours, erp, inbound, big, args)
                    return
                runs: dict[str, Result | None] = {}
                if "ours" in only or "floor" in only:
                    before = table_writes(stack)
                    runs = ours_series(
                        stack, ours, erp, inbound, big, "EQ-", args, "ours", 1, None, notes
                    )
                    time.sleep(1)  # table statistics are flushed by each backend within a second
                    notes.append(
                        "rows written per record by our runs (full, deltas; pg_stat_user_tables): "
                        + writes_between(before, table_writes(stack), args.rows)
                    )
                    with stack.sql() as db:
                        sample = db.execute(
                            "SELECT external_id, local_id, base_hash, base_values "
                            "FROM sync_synclink LIMIT 1"
                        ).fetchone()
                    notes.append(f"a link row as the engine writes it: {sample}")
                    lines[f"ours PG -> PG (batches {args.batch_size:,})"] = runs
                if "noaudit" in only:
                    plain = ours.configuration(
                        "bench inbound, audit off", source, bare, "inbound", args.batch_size
                    )
                    lines["ours PG -> PG, audit trail off"] = ours_series(
                        stack,
                        ours,
                        erp,
                        plain,
                        bare,
                        "EQN-",
                        args,
                        "ours, audit off",
                        2,
                        NO_AUDIT,
                        notes,
                    )
                if "outbound" in only:
                    target = ours.configuration(
                        "bench outbound pg", source, out, "outbound", args.batch_size
                    )
                    result = ours.run("outbound pg", target, full=True)
                    expect(
                        "rows in the PostgreSQL target",
                        erp.execute(f"SELECT count(*) FROM {out}").fetchone()[0],
                        result.rows,
                    )
                    lines["ours outbound QMS -> PG"] = {"full": result}
                    import MySQLdb  # the service's driver, only to create and check the table

                    mariadb = MySQLdb.connect(
                        host="127.0.0.1", port=3306, user="root", database="test", autocommit=True
                    )
                    mariadb.cursor().execute(MARIADB_TABLE.format(t=mariadb_table))
                    maria = ours.connection(
                        "bench erp mariadb",
                        kind="mysql",
                        host="127.0.0.1",
                        port=3306,
                        database="test",
                        username="root",
                    )
                    target = ours.configuration(
                        "bench outbound mariadb", maria, mariadb_table, "outbound", args.batch_size
                    )
                    result = ours.run("outbound mariadb", target, full=True)
                    cursor = mariadb.cursor()
                    cursor.execute(f"SELECT count(*) FROM {mariadb_table}")
                    expect("rows in the MariaDB target", cursor.fetchone()[0], result.rows)
                    lines["ours outbound QMS -> MariaDB"] = {"full": result}
                if "memory" in only and runs:  # after outbound, which writes out every QMS row
                    config = ours.configuration(
                        "bench small", source, small, "inbound", args.batch_size
                    )
                    runs["small"] = ours.run("ours 10k", config, full=True)
                if "floor" in only:
                    floor_schema = f"bench_floor_{tag}"
                    floor_prepare(stack, floor_schema, inbound)
                    floor: dict[str, Result | None] = {}
                    floor["full"] = floor_run(
                        stack, "floor full", big, floor_schema, inbound, "full"
                    )
                    changed = erp_change(erp, big, args.rows, "floor", 2)
                    floor["delta"] = floor_run(
                        stack, "floor delta", big, floor_schema, inbound, "delta"
                    )
                    expect("floor delta rows", floor["delta"].rows, changed)
                    floor["idle"] = floor_run(
                        stack, "floor idle", big, floor_schema, inbound, "delta"
                    )
                    lines["floor: COPY equipment + links"] = floor
        if only & {"sqlite", "sqlite-noaudit"}:
            with Stack(
                name=f"bench_sqlite_{tag}", embedded=True, web_workers=2, keep_logs=args.keep_logs
            ) as embedded:
                mine = Ours(embedded)
                source = mine.connection(
                    "bench erp postgresql",
                    kind="postgresql",
                    host="127.0.0.1",
                    port=5432,
                    database="test",
                    username="postgres",
                )
                conditions = conditions or embedded.describe()
                if "sqlite" in only:
                    config = mine.configuration(
                        "bench inbound", source, big, "inbound", args.batch_size
                    )
                    spy = args.profile / "run_sync-sqlite-full-pyspy.txt" if args.profile else None
                    if spy:
                        spy.parent.mkdir(parents=True, exist_ok=True)
                    worker = embedded.processes["worker"].popen.pid
                    cpu_before = group_cpu(worker)
                    lines["ours PG -> SQLite (embedded stack)"] = {
                        "full": mine.run("ours sqlite full", config, full=True, profile=spy)
                    }
                    # The next run starts once the sealer is done, on a quiet worker.
                    settled = sealed_after(embedded)
                    notes.append(
                        f"SQLite: every audit event sealed {settled:.1f} s after the full run "
                        f"ended; the worker's CPU from the run's start until then "
                        f"{group_cpu(worker) - cpu_before:.2f} s"
                    )
                    if spy:
                        print(f"py-spy: {spy}")
                if only & {"noaudit", "sqlite-noaudit"}:
                    plain = mine.configuration(
                        "bench inbound, audit off", source, bare, "inbound", args.batch_size
                    )
                    lines["ours PG -> SQLite, audit trail off"] = {
                        "full": mine.run("ours sqlite full, audit off", plain, True, env=NO_AUDIT)
                    }
        if "dlt" in only:
            destination = f"bench_dlt_{tag}"
            with pg_connect("postgres") as db:
                db.execute(f'CREATE DATABASE "{destination}"')
            pipelines = Path(tempfile.mkdtemp(prefix="eqms-bench-dlt-"))
            try:
                for round_, backend in enumerate(("sqlalchemy", "pyarrow"), start=3):
                    runs = {}
                    call = (
                        backend,
                        schema,
                        "equipment",
                        destination,
                        pipelines,
                        args.dlt_chunk_size,
                    )
                    runs["full"] = dlt_run(f"dlt {backend} full", *call)
                    changed = erp_change(erp, big, args.rows, f"dlt {backend}", round_)
                    runs["delta"] = dlt_run(f"dlt {backend} delta", *call)
                    expect(f"dlt {backend} delta rows", runs["delta"].rows, changed)
                    runs["idle"] = dlt_run(f"dlt {backend} idle", *call)
                    lines[f"dlt {backend} backend"] = runs
                    notes.append(f"dlt {backend}: {runs['full'].detail}")
            finally:
                shutil.rmtree(pipelines, ignore_errors=True)
                with pg_connect("postgres") as db:
                    db.execute(f'DROP DATABASE IF EXISTS "{destination}" WITH (FORCE)')
    finally:
        erp.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        erp.close()
        if mariadb is not None:
            mariadb.cursor().execute(f"DROP TABLE IF EXISTS {mariadb_table}")
            mariadb.close()
    print(
        f"\n{started:%Y-%m-%d %H:%M %Z}, {os.cpu_count()} cores, load average at start "
        f"{load_before}, at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}; QMS: "
        f"{conditions}; source: PostgreSQL test.{big}, {args.rows:,} rows"
    )
    reference = next(iter(lines.values()), {}).get("full") if lines else None
    report(lines, reference)
    audit_cost(lines)
    for note in notes:
        print(f"\n{note}")


def profile(
    stack: Stack, ours: Ours, erp, inbound: int, big: str, args: argparse.Namespace
) -> None:
    """Full and delta runs under py-spy, QMS-side queries counted by pg_stat_statements."""
    args.profile.mkdir(parents=True, exist_ok=True)
    with stack.sql() as db:
        db.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    # full; rescan: the first delta run after it, which reads everything again (a --full run
    # leaves the cursor) and finds it unchanged; delta: 1 % changed.
    for mode in ("full", "rescan", "delta"):
        if mode == "delta":
            erp_change(erp, big, args.rows, "profile", 1)
        with stack.sql() as db:
            db.execute("SELECT pg_stat_statements_reset()")
        spy = args.profile / f"run_sync-{mode}-pyspy.txt"
        result = ours.run(f"profiled {mode}", inbound, full=mode == "full", profile=spy)
        batches = max(1, -(-result.rows // args.batch_size))
        with stack.sql() as db:
            queries = db.execute(
                "SELECT s.calls, s.total_exec_time, s.rows, s.query FROM pg_stat_statements s "
                "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database() "
                "ORDER BY s.total_exec_time DESC"
            ).fetchall()
        lines = [
            f"{mode} run: {result.rows} rows in {result.seconds:.2f} s "
            f"({result.rate:,.0f} rows/s under py-spy), {batches} batches; QMS database "
            "statements (the source's reads are on another server)",
            f"{'calls':>8} {'per batch':>10} {'ms total':>10} {'ms/batch':>9}  query",
        ]
        total_ms = sum(q[1] for q in queries)
        lines.insert(
            1,
            f"all statements: {sum(q[0] for q in queries)} calls, "
            f"{total_ms:.0f} ms of database time = "
            f"{100 * total_ms / 1000 / result.seconds:.0f}% of the run",
        )
        for calls, exec_ms, _, query in queries:
            text = " ".join(query.split())[:150]
            lines.append(
                f"{calls:>8} {calls / batches:>10.2f} {exec_ms:>10.1f} "
                f"{exec_ms / batches:>9.2f}  {text}"
            )
        (args.profile / f"queries-{mode}.txt").write_text("\n".join(lines) + "\n")
        print("\n".join(lines[:20]))
        print(f"py-spy: {spy}\n")


if __name__ == "__main__":
    main()
