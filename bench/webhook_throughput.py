"""Webhook delivery at production scale (issue 14), through public interfaces only.

The service runs in production shape (bench/stack.py: PostgreSQL, Redis, gunicorn, the README's
`celery -A eqms_integration worker` and beat, separate processes). A receiver on 127.0.0.1
(bench/receiver.py: asyncio, answers 200 at once, verifies every signature with the
`standardwebhooks` library) records each (webhook-id, subscription path) with its arrival time.
Printed side by side in one run:

  (a) floors: the same receiver fed signed POSTs by a plain `requests` loop, 2 threads, no
      database (a new connection per POST, and keep-alive as our worker keeps them); and the
      receiver's own capacity (asyncio client, 32 keep-alive connections);
  (b) ours: NCRs created over REST with an API key, --high-subscriptions each, offered at
      --rate deliveries/s (NCRs/s = rate / subscriptions) for --seconds: deliveries/s
      sustained, commit -> receipt p50/p95, lost and duplicated counted from the receiver and
      from the database;
  (c) the same at --low-rate deliveries/s, --subscriptions each (the p95 <= 500 ms target);
  (d) the outbox cost: PATCH /api/ncrs/{id}/ round trips with 0 and with 20 subscriptions to
      ncr.updated, alternating in rounds, worker paused (SIGSTOP) so that delivering does not
      compete for the 2 cores (--outbox-with-worker to leave it running).

Commit time is the moment the NCR's POST answered (the commit happened before it); the event's
`created_at` (stamped in the transaction, before the commit) is printed beside it.

    .venv/bin/python bench/webhook_throughput.py [--seconds 60] [--rate 300] [--low-rate 100]
        [--worker-args "--pool threads --concurrency 8"] [--only a,b,c,d]

`--profile DIR` instead runs a backlog drain on a private PostgreSQL with pg_stat_statements:
py-spy samples the worker's processes (DIR/worker-pyspy.txt, collapsed stacks; summarised by
bench/pyspy_top.py) and the queries per delivery are printed (DIR/queries.txt).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests
from standardwebhooks.webhooks import Webhook

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import (
    PYTHON,
    WEBHOOK_WORKER_ARGS,
    PrivatePostgres,
    Stack,
    free_port,
    ok,
    peers_bin,
    raise_on_sigterm,
)

HERE = Path(__file__).resolve().parent
NCR_SCOPES = ["ncr:read", "ncr:write", "webhooks:read", "webhooks:manage"]


# --- the receiver -------------------------------------------------------------------------------
class Receiver:
    """bench/receiver.py as a subprocess; reads back what it recorded."""

    def __init__(self, processes: int = 1, verify_every: int = 1) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="eqms-bench-receiver-"))
        self.secrets_file = self.dir / "secrets.json"
        self.secrets: dict[str, str] = {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes = processes
        self.verify_every = verify_every
        self._offsets: dict[Path, int] = {}
        self.arrivals: list[tuple[float, str, str, str]] = []

    def __enter__(self) -> Receiver:
        self.secrets_file.write_text("{}")
        self.popen = subprocess.Popen(  # noqa: S603
            [
                PYTHON,
                str(HERE / "receiver.py"),
                "--port",
                str(self.port),
                "--out",
                str(self.dir),
                "--secrets",
                str(self.secrets_file),
                "--processes",
                str(self.processes),
                "--verify-every",
                str(self.verify_every),
            ],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        line = self.popen.stdout.readline() if self.popen.stdout else ""
        if not line.startswith("ready"):
            raise RuntimeError(f"receiver did not start: {line!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        self.popen.terminate()
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
        shutil.rmtree(self.dir, ignore_errors=True)  # arrivals and the subscriptions' secrets

    def add_secret(self, path: str, secret: str) -> None:
        self.secrets[path] = secret
        tmp = self.secrets_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.secrets))
        tmp.replace(self.secrets_file)

    def read(self) -> list[tuple[float, str, str, str]]:
        """All arrivals so far: (unix time, webhook-id, path, verdict)."""
        for path in sorted(self.dir.glob("arrivals-*.tsv")):
            with open(path) as file:
                file.seek(self._offsets.get(path, 0))
                chunk = file.read()
            complete = chunk[: chunk.rfind("\n") + 1]
            self._offsets[path] = self._offsets.get(path, 0) + len(complete)
            for line in complete.splitlines():
                t, wid, url_path, verdict = line.split("\t")
                self.arrivals.append((float(t), wid, url_path, verdict))
        return self.arrivals

    def count(self) -> int:
        return len(self.read())


# --- statistics ---------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Row:
    scenario: str
    offered: str = ""
    rate: float | None = None
    p50: float | None = None
    p95: float | None = None
    p50_created: float | None = None
    p95_created: float | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)


# --- (a) floors ---------------------------------------------------------------------------------
def floor_requests(receiver: Receiver, seconds: float, keep_alive: bool, threads: int = 2) -> Row:
    """Signed POSTs in a plain requests loop: what delivering costs without the service."""
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    path = f"/floor/{'keepalive' if keep_alive else 'new'}"
    receiver.add_secret(path, secret)
    signer = Webhook(secret)
    body = json.dumps(
        {
            "id": "msg_x",
            "event": "ncr.created",
            "timestamp": "2026-01-01T00:00:00Z",
            "data": {"id": 1, "number": "NCR-2026-0001", "title": "t" * 200},
        }
    )
    before = receiver.count()
    stop_at = time.monotonic() + seconds
    sent = [0] * threads

    def loop(index: int) -> None:
        post = requests.Session().post if keep_alive else requests.post
        while time.monotonic() < stop_at:
            msg_id = f"msg_floor_{index}_{sent[index]}"
            now = datetime.now(tz=UTC)
            headers = {
                "webhook-id": msg_id,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": signer.sign(msg_id, now, body),
                "Content-Type": "application/json",
            }
            response = post(receiver.url + path, data=body, headers=headers, timeout=10)
            response.raise_for_status()
            sent[index] += 1

    started = time.monotonic()
    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    wait_for(lambda: receiver.count() - before >= sum(sent), 10)
    received = receiver.count() - before
    arrived = receiver.arrivals[before:]
    failed = sum(1 for a in arrived if a[3] == "0")
    unchecked = sum(1 for a in arrived if a[3] == "-")
    kind = "keep-alive" if keep_alive else "new connection per POST"
    return Row(
        f"(a) floor: requests, {threads} threads, {kind}",
        "as fast as it goes",
        received / elapsed,
        note=f"{received} received; signatures: {failed} failed, {unchecked} unchecked",
    )


def floor_receiver_capacity(receiver: Receiver, total: int = 20000, connections: int = 32) -> Row:
    """The receiver alone, fed by a raw asyncio client: it must be far above the target."""
    path = "/capacity"
    request = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nwebhook-id: cap\r\nContent-Length: 2\r\n\r\n{{}}"
    ).encode()
    before = receiver.count()

    async def client(count: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", receiver.port)
        for _ in range(count):
            writer.write(request)
            await reader.readuntil(b"\r\n\r\n")
        writer.close()

    async def main() -> None:
        await asyncio.gather(*(client(total // connections) for _ in range(connections)))

    started = time.monotonic()
    asyncio.run(main())
    elapsed = time.monotonic() - started
    sent = total // connections * connections
    wait_for(lambda: receiver.count() - before >= sent, 10)
    return Row(
        f"(a) receiver capacity: asyncio client, {connections} connections",
        "",
        sent / elapsed,
        note=f"{receiver.count() - before} received",
    )


def wait_for(condition, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


# --- subscriptions ------------------------------------------------------------------------------
def subscribe(
    stack: Stack,
    client: requests.Session,
    receiver: Receiver,
    prefix: str,
    count: int,
    events: list[str],
) -> list[int]:
    ids = []
    for i in range(count):
        path = f"/{prefix}/{i}"
        created = ok(
            client.post(
                stack.url("/api/webhooks/"),
                json={
                    "name": f"bench {prefix} {i}",
                    "url": receiver.url + path,
                    "events": events,
                },
            )
        )
        receiver.add_secret(path, created["secret"])
        ids.append(created["id"])
    return ids


def unsubscribe(stack: Stack, client: requests.Session, ids: Iterable[int]) -> None:
    for pk in ids:
        response = client.delete(stack.url(f"/api/webhooks/{pk}/"))
        if response.status_code not in (204, 404):
            ok(response)


# --- (b), (c) offered load ----------------------------------------------------------------------
def offer_ncrs(
    stack: Stack, key: str, per_second: float, seconds: float, threads: int
) -> tuple[dict[int, float], list[float], float]:
    """Open loop: NCR i is sent at start + i / rate whatever the earlier ones took. Returns
    {NCR id: unix time of its answer}, the POST round trips (ms) and the achieved send span."""
    total = max(1, round(per_second * seconds))
    answered: dict[int, float] = {}
    round_trips: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(total))
    start = time.monotonic() + 0.5
    last_send = [start]

    def loop() -> None:
        session = stack.client(key)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            due = start + i / per_second
            time.sleep(max(0.0, due - time.monotonic()))
            sent = time.monotonic()
            response = session.post(
                stack.url("/api/ncrs/"), json={"title": f"bench ncr {i}"}, timeout=60
            )
            done = time.time()
            with lock:
                last_send[0] = max(last_send[0], sent)
                if response.status_code == 201:
                    answered[response.json()["id"]] = done
                    round_trips.append((time.monotonic() - sent) * 1000)
                else:
                    errors.append(f"{response.status_code} {response.text[:200]}")

    workers = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        raise RuntimeError(f"{len(errors)} NCR creations failed, e.g. {errors[0]}")
    return answered, round_trips, max(last_send[0] - start, 1e-9)


def database_counts(stack: Stack, subscription_ids: list[int]) -> dict[str, int]:
    with stack.sql() as db:
        rows = db.execute(
            "SELECT d.status, count(*), coalesce(sum(d.attempt_count), 0) "
            "FROM webhooks_webhookdelivery d WHERE d.subscription_id = ANY(%s) GROUP BY 1",
            [subscription_ids],
        ).fetchall()
        attempts = db.execute(
            "SELECT count(*) FROM webhooks_webhookattempt a JOIN webhooks_webhookdelivery d "
            "ON d.id = a.delivery_id WHERE d.subscription_id = ANY(%s)",
            [subscription_ids],
        ).fetchone()[0]
    counts = {status: n for status, n, _ in rows}
    counts["total"] = sum(n for _, n, _ in rows)
    counts["attempts"] = attempts
    return counts


def events_of(stack: Stack, ncr_ids: set[int]) -> dict[str, tuple[int, float]]:
    """{message id: (NCR id, created_at as unix time)} of the ncr.created events of these NCRs."""
    with stack.sql() as db:
        rows = db.execute(
            "SELECT message_id, (payload::jsonb -> 'data' ->> 'id')::bigint, created_at "
            "FROM webhooks_webhookevent WHERE event_type = 'ncr.created'"
        ).fetchall()
    return {m: (n, c.timestamp()) for m, n, c in rows if n in ncr_ids}


def offered_load(
    stack: Stack,
    key: str,
    receiver: Receiver,
    label: str,
    rate: float,
    seconds: float,
    subscriptions: int,
    drain_timeout: float,
    client_threads: int,
) -> Row:
    client = stack.client(key)
    prefix = f"load{int(rate)}"
    subs = subscribe(stack, client, receiver, prefix, subscriptions, ["ncr.created"])
    paths = {f"/{prefix}/{i}" for i in range(subscriptions)}
    before = receiver.count()
    first = time.time()
    answered, round_trips, span = offer_ncrs(
        stack, key, rate / subscriptions, seconds, client_threads
    )
    offered_until = time.time()
    expected = len(answered) * subscriptions

    def arrived() -> list[tuple[float, str, str, str]]:
        return [a for a in receiver.read()[before:] if a[2] in paths]

    drained = wait_for(
        lambda: len({(a[1], a[2]) for a in arrived()}) >= expected, drain_timeout, interval=0.5
    )
    # Every outcome recorded too (the rows are counted next).
    wait_for(lambda: database_counts(stack, subs).get("succeeded", 0) >= expected, 30, 0.5)
    stack.check_alive()
    arrivals = arrived()
    events = events_of(stack, set(answered))
    first_receipt: dict[tuple[str, str], float] = {}
    for t, wid, path, _ in arrivals:
        first_receipt[wid, path] = min(t, first_receipt.get((wid, path), t))
    latencies, from_created = [], []
    for (wid, _), t in first_receipt.items():
        if wid in events:
            ncr, created = events[wid]
            latencies.append((t - answered[ncr]) * 1000)
            from_created.append((t - created) * 1000)
    unique = len(first_receipt)
    last = max(first_receipt.values(), default=first)
    within = sum(1 for t in first_receipt.values() if t <= offered_until)
    db = database_counts(stack, subs)
    failed = sum(1 for a in arrivals if a[3] == "0")
    unchecked = sum(1 for a in arrivals if a[3] == "-")
    row = Row(
        label,
        f"{rate:g}/s ({rate / subscriptions:g} NCRs/s x {subscriptions}) for {seconds:g} s; "
        f"sent at {len(answered) / span:.1f} NCRs/s",
        unique / max(last - first, 1e-9),
        pct(latencies, 0.5),
        pct(latencies, 0.95),
        pct(from_created, 0.5),
        pct(from_created, 0.95),
        note=(
            f"expected {expected}, received {unique} unique, lost {expected - unique}, "
            f"duplicated {len(arrivals) - unique}; signatures verified with standardwebhooks: "
            f"{len(arrivals) - failed - unchecked} ok, {failed} failed, {unchecked} unchecked; "
            f"database: {db['total']} deliveries, {db.get('succeeded', 0)} succeeded, "
            f"{db['attempts']} attempts"
            + ("" if drained else f"; NOT DRAINED within {drain_timeout:g} s")
        ),
        extra={
            "within_offered_window": within / max(offered_until - first, 1e-9),
            "post_p50": pct(round_trips, 0.5),
            "post_p95": pct(round_trips, 0.95),
        },
    )
    unsubscribe(stack, client, subs)
    return row


# --- (d) outbox cost ----------------------------------------------------------------------------
def outbox_cost(
    stack: Stack, key: str, receiver: Receiver, repetitions: int, rounds: int, pause_worker: bool
) -> list[Row]:
    client = stack.client(key)
    ncr = ok(client.post(stack.url("/api/ncrs/"), json={"title": "outbox bench"}))
    url = stack.url(f"/api/ncrs/{ncr['id']}/")
    for i in range(20):  # warm-up: connections, caches, the key's verification
        ok(client.patch(url, json={"title": f"warm {i}"}))
    samples: dict[int, list[float]] = {0: [], 20: []}
    per_round = max(1, repetitions // rounds)
    if pause_worker:
        stack.pause_worker()
    try:
        for r in range(rounds):
            for count in (0, 20):
                subs = (
                    subscribe(stack, client, receiver, f"outbox{r}", count, ["ncr.updated"])
                    if count
                    else []
                )
                for i in range(per_round):
                    started = time.perf_counter()
                    response = client.patch(url, json={"title": f"outbox {r} {count} {i}"})
                    elapsed = (time.perf_counter() - started) * 1000
                    ok(response)
                    samples[count].append(elapsed)
                # Deleting a subscription deletes its deliveries: the paused worker later finds
                # nothing to send, and the next round starts from the same tables.
                unsubscribe(stack, client, subs)
    finally:
        if pause_worker:
            stack.resume_worker()
    rows = []
    for count, times in samples.items():
        rows.append(
            Row(
                f"(d) PATCH /api/ncrs/{{id}}/, {count} subscriptions",
                f"{len(times)} sequential, {rounds} rounds",
                None,
                pct(times, 0.5),
                pct(times, 0.95),
                note=f"mean {statistics.mean(times):.2f} ms",
            )
        )
    diff50 = rows[1].p50 - rows[0].p50  # type: ignore[operator]
    diff95 = rows[1].p95 - rows[0].p95  # type: ignore[operator]
    rows.append(
        Row(
            "(d) outbox cost: 20 subscriptions minus 0",
            "",
            None,
            diff50,
            diff95,
            note="target: <= 2 ms p95",
        )
    )
    return rows


def outbox_cost_paired(
    stack: Stack, key: str, receiver: Receiver, pairs: int, pause_worker: bool
) -> list[Row]:
    """(d) in adjacent pairs: 20 subscriptions made once over REST, switched off and on by SQL
    (`is_active`, nothing cached) between PATCHes, 0 and 20 alternating which goes first, so
    that both cases meet the same moments of a shared machine's load."""
    client = stack.client(key)
    ncr = ok(client.post(stack.url("/api/ncrs/"), json={"title": "outbox bench"}))
    url = stack.url(f"/api/ncrs/{ncr['id']}/")
    for i in range(20):
        ok(client.patch(url, json={"title": f"warm {i}"}))
    subs = subscribe(stack, client, receiver, "pairs", 20, ["ncr.updated"])
    samples: dict[int, list[float]] = {0: [], 20: []}
    if pause_worker:
        stack.pause_worker()
    try:
        with stack.sql() as db:
            for i in range(pairs):
                for count in (0, 20) if i % 2 == 0 else (20, 0):
                    db.execute(
                        "UPDATE webhooks_webhooksubscription SET is_active = %s WHERE id = ANY(%s)",
                        [bool(count), subs],
                    )
                    started = time.perf_counter()
                    response = client.patch(url, json={"title": f"pair {i} {count}"})
                    elapsed = (time.perf_counter() - started) * 1000
                    ok(response)
                    samples[count].append(elapsed)
    finally:
        if pause_worker:
            stack.resume_worker()
        unsubscribe(stack, client, subs)
    differences = [b - a for a, b in zip(samples[0], samples[20], strict=True)]
    rows = [
        Row(
            f"(d') PATCH /api/ncrs/{{id}}/, {count} subscriptions",
            f"{len(times)} in pairs",
            None,
            pct(times, 0.5),
            pct(times, 0.95),
            note=f"mean {statistics.mean(times):.2f} ms",
        )
        for count, times in samples.items()
    ]
    rows.append(
        Row(
            "(d') outbox cost: 20 subscriptions minus 0, paired",
            "",
            None,
            rows[1].p50 - rows[0].p50,  # type: ignore[operator]
            rows[1].p95 - rows[0].p95,  # type: ignore[operator]
            note=f"median of the pairs' differences {pct(differences, 0.5):.2f} ms, "
            f"mean {statistics.mean(differences):.2f} ms; target: <= 2 ms p95",
        )
    )
    return rows


# --- profile ------------------------------------------------------------------------------------
def profile_drain(
    stack: Stack,
    key: str,
    receiver: Receiver,
    out: Path,
    ncrs: int,
    subscriptions: int,
    drain_timeout: float,
) -> None:
    """A backlog built while the worker is paused, then drained under py-spy, with the
    queries counted by pg_stat_statements (only the worker and beat run queries meanwhile)."""
    client = stack.client(key)
    subs = subscribe(stack, client, receiver, "profile", subscriptions, ["ncr.created"])
    with stack.sql() as db:
        db.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    stack.pause_worker()
    try:
        for i in range(ncrs):
            ok(client.post(stack.url("/api/ncrs/"), json={"title": f"profile {i}"}))
        with stack.sql() as db:
            db.execute("SELECT pg_stat_statements_reset()")
        before = receiver.count()
    finally:
        stack.resume_worker()
    expected = ncrs * subscriptions
    pids = stack.worker_pids()
    spy = subprocess.Popen(  # noqa: S603
        [
            str(peers_bin() / "py-spy"),
            "record",
            "--idle",
            "--pid",
            str(pids[0]),
            "--subprocesses",
            "--format",
            "raw",
            "--rate",
            "100",
            "--output",
            str(out / "worker-pyspy.txt"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    started = time.monotonic()
    wait_for(lambda: receiver.count() - before >= expected, drain_timeout, 0.2)
    elapsed = time.monotonic() - started
    wait_for(lambda: database_counts(stack, subs).get("succeeded", 0) >= expected, 60, 0.5)
    spy.send_signal(2)  # py-spy writes its file on SIGINT
    spy.wait(timeout=60)
    with stack.sql() as db:
        queries = db.execute(
            "SELECT s.calls, s.total_exec_time, s.rows, s.query FROM pg_stat_statements s "
            "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database() "
            "ORDER BY s.calls DESC"
        ).fetchall()
    received = receiver.count() - before
    lines = [
        f"backlog drain: {received} deliveries in {elapsed:.1f} s "
        f"({received / elapsed:.1f}/s), worker {stack.describe()}",
        f"{'calls':>8} {'per delivery':>13} {'ms total':>10}  query",
    ]
    total_calls = 0
    for calls, exec_ms, _, query in queries:
        total_calls += calls
        text = " ".join(query.split())[:160]
        lines.append(f"{calls:>8} {calls / expected:>13.2f} {exec_ms:>10.1f}  {text}")
    lines.insert(
        2,
        f"all statements: {total_calls} calls = {total_calls / expected:.2f} per "
        "delivery (beat's sweeps included)",
    )
    (out / "queries.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:25]))
    print(
        f"\npy-spy stacks: {out / 'worker-pyspy.txt'}; summarise with "
        f"{PYTHON} bench/pyspy_top.py {out / 'worker-pyspy.txt'}"
    )
    unsubscribe(stack, client, subs)


# --- report -------------------------------------------------------------------------------------
def fmt(value: float | None, spec: str = ".0f") -> str:
    return "-" if value is None else format(value, spec)


def report(rows: list[Row]) -> None:
    print(
        f"\n{'scenario':<58} {'deliveries/s':>12} {'p50 ms':>9} {'p95 ms':>9} "
        f"{'p50 ms*':>9} {'p95 ms*':>9}"
    )
    for row in rows:
        print(
            f"{row.scenario:<58} {fmt(row.rate):>12} {fmt(row.p50, '.2f'):>9} "
            f"{fmt(row.p95, '.2f'):>9} {fmt(row.p50_created, '.1f'):>9} "
            f"{fmt(row.p95_created, '.1f'):>9}"
        )
        if row.offered:
            print(f"    offered: {row.offered}")
        if row.extra:
            print(
                f"    received while offering: {row.extra['within_offered_window']:.1f}/s; "
                f"POST /api/ncrs/ p50 {row.extra['post_p50']:.1f} ms, "
                f"p95 {row.extra['post_p95']:.1f} ms"
            )
        if row.note:
            print(f"    {row.note}")
    print(
        "\n(b)/(c) p50/p95: NCR POST answered -> first receipt of each delivery; "
        "p50*/p95*: event created_at (in the transaction) -> receipt."
    )
    print("(d) p50/p95: PATCH round trip in ms.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=300, help="deliveries/s offered in (b)")
    parser.add_argument("--low-rate", type=float, default=100, help="deliveries/s in (c)")
    parser.add_argument(
        "--subscriptions", type=int, default=5, help="subscriptions per NCR in (c) and --profile"
    )
    parser.add_argument(
        "--high-subscriptions",
        type=int,
        default=20,
        help="subscriptions per NCR in (b): 300/s at 5 each is 60 NCR POSTs/s, more than the "
        "web tier accepts on 2 cores beside the workers; 20 each makes it 15 NCRs/s",
    )
    parser.add_argument("--worker-args", default="", help="extra arguments of the -Q celery worker")
    parser.add_argument(
        "--webhook-worker-args",
        default=shlex.join(WEBHOOK_WORKER_ARGS),
        help='the webhook worker\'s (README default); "none": one worker for both queues',
    )
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument(
        "--client-threads", type=int, default=16, help="threads sending the NCRs of (b), (c)"
    )
    parser.add_argument("--floor-seconds", type=float, default=10)
    parser.add_argument("--receiver-processes", type=int, default=1)
    parser.add_argument("--updates", type=int, default=300, help="PATCHes per case in (d)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--outbox-with-worker", action="store_true")
    parser.add_argument(
        "--outbox-pairs",
        type=int,
        default=0,
        help="(d) as N adjacent pairs of PATCHes instead of blocks (see outbox_cost_paired)",
    )
    parser.add_argument("--drain-timeout", type=float, default=900)
    parser.add_argument("--only", default="a,b,c,d")
    parser.add_argument("--profile", type=Path, help="profile a backlog drain instead")
    parser.add_argument("--profile-ncrs", type=int, default=600)
    parser.add_argument("--keep-logs", action="store_true")
    parser.add_argument("--redis-db", type=int, default=8, help="flushed at start and end")
    args = parser.parse_args()
    raise_on_sigterm()
    only = set(args.only.split(","))
    worker_args = shlex.split(args.worker_args)
    webhook_worker_args = (
        None if args.webhook_worker_args == "none" else shlex.split(args.webhook_worker_args)
    )
    rows: list[Row] = []
    started = datetime.now().astimezone()
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    with Receiver(args.receiver_processes) as receiver:
        if "a" in only or args.profile:
            rows.append(floor_receiver_capacity(receiver))
            rows.append(floor_requests(receiver, args.floor_seconds, keep_alive=False))
            rows.append(floor_requests(receiver, args.floor_seconds, keep_alive=True))
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            with (
                PrivatePostgres() as pg,
                Stack(
                    name=f"bench_webhooks_profile_{os.getpid()}",
                    web_workers=args.web_workers,
                    worker_args=worker_args,
                    webhook_worker_args=webhook_worker_args,
                    pg_port=pg.port,
                    keep_logs=args.keep_logs,
                    redis_db=args.redis_db,
                ) as stack,
            ):
                key = stack.api_key("bench", NCR_SCOPES)
                print(f"stack: {stack.describe()} (private PostgreSQL on port {pg.port})")
                profile_drain(
                    stack,
                    key,
                    receiver,
                    args.profile,
                    args.profile_ncrs,
                    args.subscriptions,
                    args.drain_timeout,
                )
            report(rows)
            return
        with Stack(
            name=f"bench_webhooks_{os.getpid()}",
            web_workers=args.web_workers,
            worker_args=worker_args,
            webhook_worker_args=webhook_worker_args,
            keep_logs=args.keep_logs,
            redis_db=args.redis_db,
        ) as stack:
            key = stack.api_key("bench", NCR_SCOPES)
            print(f"stack: {stack.describe()}", flush=True)
            for scenario, rate, subscriptions in (
                ("b", args.rate, args.high_subscriptions),
                ("c", args.low_rate, args.subscriptions),
            ):
                if scenario in only:
                    stack.wait_worker_idle()
                    rows.append(
                        offered_load(
                            stack,
                            key,
                            receiver,
                            f"({scenario}) ours: NCRs over REST, {subscriptions} subscriptions",
                            rate,
                            args.seconds,
                            subscriptions,
                            args.drain_timeout,
                            args.client_threads,
                        )
                    )
                    print(f"({scenario}) done", flush=True)
            # Last: with the worker paused it leaves fan-out messages of deleted deliveries.
            if "d" in only:
                stack.wait_worker_idle()
                if args.outbox_pairs:
                    rows += outbox_cost_paired(
                        stack,
                        key,
                        receiver,
                        args.outbox_pairs,
                        pause_worker=not args.outbox_with_worker,
                    )
                else:
                    rows += outbox_cost(
                        stack,
                        key,
                        receiver,
                        args.updates,
                        args.rounds,
                        pause_worker=not args.outbox_with_worker,
                    )
            conditions = stack.describe()
    print(
        f"\n{started:%Y-%m-%d %H:%M %Z}, {os.cpu_count()} cores, load average at start "
        f"{load_before}, at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"{conditions}"
    )
    report(rows)


if __name__ == "__main__":
    main()
