"""Benchmark: the audit sealer's CPU per 1,000 events, this tree beside another revision.

Run:  .venv/bin/python bench/audit_sealer.py [--events 100000] [--before main] [--rounds 2]
PostgreSQL only (the service's database of sync runs): DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/eqms_benchsealer, on this machine (the server's CPU is read
from /proc); each measurement makes and drops its own test database (test_<name>).

The revision --before is exported with `git archive` into var/bench-sealer/<commit>/ and its
code imported from there by a child process running this file; this tree's code by another;
in turn, --rounds times, so load from elsewhere weighs on both alike. Each child:
- writes --events events as a sync run does, in batches of 1,000 through
  audit.services.events_record_rows (equipment rows created, nine changed fields each), at a
  clock the parent fixes (each batch one millisecond after the one before), so both trees
  seal the very same events and their chains must end in the same hash;
- ANALYZE, then one events_seal() that seals them all, timed: the process's CPU
  (time.process_time), its PostgreSQL backend's CPU (/proc/<pid>/schedstat of
  pg_backend_pid()) and the wall time, per 1,000 events;
- the pass a beat tick makes while a sync run writes: 1,000 more events (one batch) after the
  --events sealed ones, still within AUDIT_SEAL_LOOKBACK_SECONDS, then events_seal();
- the idle pass: events_seal() with nothing to seal;
- trail_verify() of the whole chain (its result, last hash and CPU printed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
GIT = shutil.which("git") or "git"
TAR = shutil.which("tar") or "tar"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/eqms_benchsealer"
BATCH = 1000


def backend_cpu_seconds(pid: int) -> float:
    """CPU time of a local process (the PostgreSQL backend), from the scheduler's count."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9


def child(code: Path, events: int, clock: datetime) -> dict:
    sys.path.insert(0, str(code))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eqms_integration.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "b" * 40)
    import django

    django.setup()
    from django.db import connection, transaction
    from django.test.utils import setup_test_environment
    from django.utils import timezone

    from audit import actors, services
    from audit.context import audit_context

    if connection.vendor != "postgresql":
        raise SystemExit("bench/audit_sealer.py needs DATABASE_URL=postgres://… (local)")
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    real_now = timezone.now
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (backend,) = cursor.fetchone()

        def write(first: int, count: int) -> None:
            actor = actors.Actor("sync_run", "7", "ERP equipment (run 7)")
            with audit_context(actor=actor, channel="sync"):
                for start in range(first, first + count, BATCH):
                    at = clock + timedelta(milliseconds=start // BATCH)
                    timezone.now = lambda at=at: at  # the batch's one time, as a run has it
                    try:
                        with transaction.atomic():
                            services.events_record_rows(batch(start, min(BATCH, count)))
                    finally:
                        timezone.now = real_now

        def timed(work) -> dict:
            cpu, server = time.process_time(), backend_cpu_seconds(backend)
            wall = time.perf_counter()
            done = work()
            return {
                "done": done,
                "cpu": time.process_time() - cpu,
                "server": backend_cpu_seconds(backend) - server,
                "wall": time.perf_counter() - wall,
            }

        write(0, events)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        result = {"load": os.getloadavg()[0], "seal": timed(services.events_seal)}
        write(events, BATCH)
        result["steady"] = timed(services.events_seal)
        result["idle"] = timed(services.events_seal)
        cpu = time.process_time()
        verification = services.trail_verify()
        result["verify_cpu"] = time.process_time() - cpu
        result.update(
            verified=verification.ok,
            sealed=verification.sealed,
            last_hash=verification.last_hash,
            lag=(real_now() - clock).total_seconds(),
            load_after=os.getloadavg()[0],
        )
        return result
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def batch(start: int, count: int) -> list[tuple]:
    """A sync batch's events: equipment created, with the values a run writes."""
    rows = []
    for n in range(start, start + count):
        number = f"EQ-{n:06}"
        changes = {
            "number": [None, number],
            "name": [None, f"Torque wrench {n % 97}"],
            "category": [None, "tools"],
            "location": [None, f"Hall {n % 7}"],
            "manufacturer": [None, "Stahlwille"],
            "model": [None, "730/10"],
            "serial_number": [None, f"SN{n:08}"],
            "status": [None, "active"],
            "calibration_due_date": [None, "2027-01-31"],
        }
        rows.append(("created", "equipment", n + 1, number, changes, ""))
    return rows


def exported(revision: str) -> tuple[Path, str]:
    commit = subprocess.run(  # noqa: S603 - git with the revision asked for
        [GIT, "-C", str(HERE), "rev-parse", "--short", revision],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    target = HERE / "var" / "bench-sealer" / commit
    if not (target / "audit").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(  # noqa: S603
            [GIT, "-C", str(HERE), "archive", commit], check=True, capture_output=True
        ).stdout
        subprocess.run([TAR, "-x", "-C", str(target)], input=archive, check=True)  # noqa: S603
    return target, commit


def run_child(code: Path, events: int, clock: datetime, url: str) -> dict:
    env = {**os.environ, "DATABASE_URL": url}
    command = [sys.executable, __file__, "--child", str(code), "--events", str(events)]
    out = subprocess.run(  # noqa: S603 - this script, as a child
        [*command, "--clock", clock.isoformat()],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=code,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def per_thousand(seconds: float, count: int) -> str:
    return f"{seconds * 1000 * BATCH / max(count, 1):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--before", default="main", help="revision to compare with")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--clock", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        clock = datetime.fromisoformat(args.clock)
        print(json.dumps(child(Path(args.child), args.events, clock)))
        return

    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgres"):
        raise SystemExit("bench/audit_sealer.py needs DATABASE_URL=postgres://… (local)")
    before, commit = exported(args.before)
    trees = {f"before ({args.before} {commit})": before, "after (this tree)": HERE}
    clock = datetime.now(UTC).replace(microsecond=0)
    print(
        f"audit sealer  {args.events:,} events  {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC  "
        f"load {os.getloadavg()[0]:.2f}"
    )
    results: dict[str, list[dict]] = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, code in trees.items():
            results[name].append(run_child(code, args.events, clock, url))

    def median(name: str, part: str, key: str) -> str:
        runs = results[name]
        return per_thousand(
            statistics.median(run[part][key] for run in runs), runs[0][part]["done"] or BATCH
        )

    names = list(trees)
    print(f"{'ms per 1,000 events (median of rounds)':<52}" + "".join(f"{n:>28}" for n in names))
    rows = [
        ("seal all: sealer CPU", "seal", "cpu"),
        ("seal all: PostgreSQL backend CPU", "seal", "server"),
        ("seal all: wall", "seal", "wall"),
        ("pass sealing 1,000 more: sealer CPU", "steady", "cpu"),
        ("pass sealing 1,000 more: backend CPU", "steady", "server"),
        ("pass sealing 1,000 more: wall", "steady", "wall"),
    ]
    for label, part, key in rows:
        print(f"{label:<52}" + "".join(f"{median(n, part, key):>28}" for n in names))
    print(f"{'ms per idle pass (nothing to seal)':<52}")
    for label, key in (("idle pass: sealer CPU", "cpu"), ("idle pass: backend CPU", "server")):
        print(
            f"{label:<52}"
            + "".join(
                f"{statistics.median(r['idle'][key] for r in results[n]) * 1000:>28.2f}"
                for n in names
            )
        )
    for name in names:
        for run in results[name]:
            print(
                f"{name}: sealed {run['seal']['done']:,} + {run['steady']['done']:,}, "
                f"verified {run['verified']} ({run['sealed']:,}), last hash {run['last_hash']}, "
                f"load {run['load']:.2f} -> {run['load_after']:.2f}, "
                f"seal CPU {run['seal']['cpu']:.2f} s, backend {run['seal']['server']:.2f} s, "
                f"verify CPU {run.get('verify_cpu', 0):.2f} s"
            )
    hashes = {run["last_hash"] for runs in results.values() for run in runs}
    print("same chain in every run:", len(hashes) == 1)
    lag = max(run["lag"] for runs in results.values() for run in runs)
    if lag > 300:
        print(f"(the last run ended {lag:.0f} s after the events' time: near the lookback)")


if __name__ == "__main__":
    main()
