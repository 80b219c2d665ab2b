"""Benchmark: cost of recording audit events, beside the bare INSERT they consist of.

Run:  .venv/bin/python bench/audit_trail.py [--single 2000] [--batches 30]
Uses DATABASE_URL like the service (default: SQLite under var/), in a throwaway test database.
Prints, each in its own transaction as a service would pay it:
- an NCR update through the service (`ncr_update`, one changed field) with the audit trail
  against the same update with the trail switched off (the snapshot, the diff and the event
  INSERT skipped), in turn, so the p95 difference is what the trail adds (target: <= 1 ms);
- one `event_record` against one ORM INSERT of an equal, prebuilt row (the floor);
- `events_record_many` of 1,000 events against one bulk INSERT of 1,000 prebuilt rows,
  with the number of INSERT statements each sends;
- the sealer's and the verifier's throughput (events per second), which no business
  transaction waits for.
The sync run with and without the trail is bench/sync_throughput.py's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eqms_integration.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "b" * 40)

import django

django.setup()

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, setup_test_environment
from django.utils import timezone

from audit import actors, services
from audit.context import audit_context
from audit.models import AuditEvent
from quality import services as quality
from quality.services import trail

CHANGES = {"severity": ["minor", "major"], "title": ["Weld crack", "Weld crack, bay 4"]}


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    with transaction.atomic():
        work()
    return (time.perf_counter() - start) * 1000


def alternating(ours: Callable[[], object], floor: Callable[[], object], repeat: int):
    """Times both, one run of each in turn, so load from elsewhere weighs on both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        times[0].append(timed(ours))
        times[1].append(timed(floor))
    return times


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[-1]


def prebuilt(count: int) -> list[AuditEvent]:
    now = timezone.now()
    return [
        AuditEvent(
            occurred_at=now,
            actor_type="api_key",
            actor_id="5",
            actor_name="ERP (key)",
            channel="api",
            action="updated",
            object_type="ncr",
            object_id=str(n),
            object_repr=f"NCR-2026-{n:04}",
            changes=CHANGES,
            request_id="r" * 32,
            client_ip="10.0.0.1",
        )
        for n in range(count)
    ]


@contextmanager
def untraced() -> Iterator[None]:
    """The quality services with the audit trail switched off (what they cost without it)."""
    saved = trail.snapshot, trail.record_updated
    trail.snapshot = lambda obj, fields: {}
    trail.record_updated = lambda obj, before, fields: None
    try:
        yield
    finally:
        trail.snapshot, trail.record_updated = saved


def ncr_updates(repeat: int) -> tuple[list[float], list[float]]:
    """ncr_update of one field, with the trail and without, one of each in turn."""
    traced_ncr, plain_ncr = quality.ncr_create(title="Weld crack"), quality.ncr_create(title="B")
    counter = iter(range(10**9))

    def traced() -> None:
        quality.ncr_update(traced_ncr, {"title": f"Weld crack {next(counter)}"})

    def plain() -> None:
        with untraced():
            quality.ncr_update(plain_ncr, {"title": f"Weld crack {next(counter)}"})

    alternating(traced, plain, 50)  # warm up
    return alternating(traced, plain, repeat)


def inserts_of(work: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        work()
    return sum(q["sql"].startswith("INSERT") for q in queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=2000, help="NCR updates to time")
    parser.add_argument("--single", type=int, default=2000, help="single events to time")
    parser.add_argument("--batches", type=int, default=30, help="batches of 1,000 to time")
    args = parser.parse_args()

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        scope = audit_context(
            actor=actors.Actor("api_key", "5", "ERP (key)"),
            channel="api",
            request_id="r" * 32,
            client_ip="10.0.0.1",
        )
        with scope:
            updates = ncr_updates(args.updates)
            one = lambda: services.event_record(  # noqa: E731
                action="updated",
                object_type="ncr",
                object_id=1,
                object_repr="NCR-2026-0001",
                changes=CHANGES,
            )
            batch = [
                services.EventData("updated", "equipment", n, f"EQ-{n}", CHANGES)
                for n in range(1000)
            ]
            many = lambda: services.events_record_many(batch)  # noqa: E731
            alternating(one, lambda: prebuilt(1)[0].save(), 50)  # warm up
            # The floors insert rows built beforehand: only the INSERT is timed.
            singles = iter(prebuilt(args.single))
            batches = iter([prebuilt(1000) for _ in range(args.batches + 1)])
            bulk = lambda: AuditEvent.objects.bulk_create(next(batches))  # noqa: E731
            single = alternating(one, lambda: next(singles).save(), args.single)
            batched = alternating(many, bulk, args.batches)
            rows = {
                "event_record (1 event)": single[0],
                "floor: INSERT of 1 built row": single[1],
                "events_record_many (1,000)": batched[0],
                "floor: INSERT of 1,000 built": batched[1],
            }
            statements = {
                "events_record_many (1,000)": inserts_of(many),
                "floor: INSERT of 1,000 built": inserts_of(bulk),
            }
        total = AuditEvent.objects.count()
        start = time.perf_counter()
        sealed = services.events_seal()
        seal_seconds = time.perf_counter() - start
        start = time.perf_counter()
        verification = services.trail_verify()
        verify_seconds = time.perf_counter() - start
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    print(f"audit trail  database={connection.vendor}  events written={total:,}")
    traced, plain = updates
    print(f"{'NCR update (ncr_update)':<30}{'runs':>6}{'median ms':>11}{'p95 ms':>9}")
    for name, times in (("with the audit trail", traced), ("without it", plain)):
        print(f"{name:<30}{len(times):>6}{statistics.median(times):>11.3f}{p95(times):>9.3f}")
    added = p95(traced) - p95(plain)
    verdict = "within" if added <= 1.0 else "OVER"
    print(
        f"added by the trail: {added:+.3f} ms p95 ({verdict} the 1 ms target), "
        f"{statistics.median(traced) - statistics.median(plain):+.3f} ms median"
    )
    print(f"{'operation':<30}{'runs':>6}{'median ms':>11}{'p95 ms':>9}{'INSERTs':>9}")
    for name, times in rows.items():
        print(
            f"{name:<30}{len(times):>6}{statistics.median(times):>11.3f}{p95(times):>9.3f}"
            f"{statements.get(name, 1):>9}"
        )
    print(
        f"sealer:   {sealed:,} events in {seal_seconds:.2f} s "
        f"({sealed / seal_seconds:,.0f} events/s)"
    )
    print(
        f"verifier: {verification.sealed:,} events in {verify_seconds:.2f} s "
        f"({verification.sealed / verify_seconds:,.0f} events/s), intact={verification.ok}"
    )


if __name__ == "__main__":
    main()
