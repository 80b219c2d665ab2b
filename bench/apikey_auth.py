"""Benchmark: cost of API-key authentication with 1 key vs 10,000 keys, against session auth.

Run:  .venv/bin/python bench/apikey_auth.py [--requests 400] [--keys 10000]
Uses DATABASE_URL / REDIS_URL / CACHE_URL like the service (default: SQLite + file cache under
var/), in a throwaway test database. Prints latency (median, p95) of the same API request
authenticated in each way, the ratios, and per request the bcrypt calls, the queries touching
the key table, and all database queries beside those of the session-authenticated request.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eqms_integration.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "b" * 40)
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

import django

django.setup()

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext, setup_test_environment
from rest_framework.test import APIClient

from apikeys import cache_keys as keycache
from apikeys import services
from apikeys.keyformat import build_key, generate_key_id, preview
from apikeys.models import APIKey
from apikeys.services import verification

PATH = "/api/ncrs/"
SCENARIOS = (
    "1 key, warm cache",
    "1 key, cold (bcrypt)",
    "N keys, warm cache",
    "N keys, cold (bcrypt)",
    "session (same request)",
    "1 key, cache expired, known",
)


def sample(send: Callable[[], int], requests: int, before: Callable[[], None] = lambda: None):
    times = []
    for _ in range(requests):
        before()
        start = time.perf_counter()
        status = send()
        times.append((time.perf_counter() - start) * 1000)
        if status != 200:
            raise SystemExit(f"the benchmarked request answered {status}, not 200")
    return times


def summary(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[max(int(len(times) * 0.95) - 1, 0)]


def per_request_costs(send: Callable[[], int], before: Callable[[], None]) -> tuple[int, int, int]:
    """bcrypt calls, queries touching the key table, and all queries of one request."""
    calls = []
    real = verification.bcrypt.checkpw
    verification.bcrypt.checkpw = lambda *a: calls.append(1) or real(*a)
    try:
        before()
        with CaptureQueriesContext(connection) as queries:
            send()
    finally:
        verification.bcrypt.checkpw = real
    key_queries = sum("apikeys_apikey" in q["sql"] for q in queries.captured_queries)
    return len(calls), key_queries, len(queries.captured_queries)


def add_filler_keys(count: int, template_hash: str) -> None:
    """Other clients' keys: distinct ids, one shared hash (hashing 10,000 secrets at cost 10
    would take ten minutes and changes nothing that is measured)."""
    batch = []
    for _ in range(count):
        key_id = generate_key_id()
        raw, _ = build_key(key_id)
        batch.append(
            APIKey(
                name="filler",
                key_id=key_id,
                secret_hash=template_hash,
                key_preview=preview(raw),
                scopes=["ncr:read"],
            )
        )
    APIKey.objects.bulk_create(batch, batch_size=1000)
    settle()


def settle() -> None:
    """After a bulk change SQLite reads through a large write-ahead log until a checkpoint;
    fold it in so that the scenarios compare key counts, not WAL sizes."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="warm requests per scenario")
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        cache.clear()
        issued = services.apikey_create(name="bench", scopes=["ncr:read"])
        key_client = APIClient()
        key_client.credentials(HTTP_X_API_KEY=issued.key)
        send_key = lambda: key_client.get(PATH).status_code  # noqa: E731
        # Cold: the key was never verified (its snapshot and its remembered digest gone, so
        # bcrypt runs). Expired: only the snapshot's TTL ended; the key is known (caps.known).
        expire = lambda: cache.delete(keycache.verified_key(issued.key))  # noqa: E731
        forget = lambda: cache.delete_many(  # noqa: E731
            [keycache.verified_key(issued.key), keycache.known_key(issued.api_key.key_id)]
        )

        user = get_user_model().objects.create_superuser("bench", password="bench-pw-123")  # noqa: S106
        session_client = APIClient()
        session_client.force_login(user)
        send_session = lambda: session_client.get(PATH).status_code  # noqa: E731

        # Scenarios alternate in rounds (1 key, N keys, session, ...) so that load from
        # elsewhere on the machine falls on all of them alike.
        sample(send_key, 50)
        sample(send_session, 50)
        samples: dict[str, list[float]] = {name: [] for name in SCENARIOS}
        per_round = max(args.requests // args.rounds, 1)
        cold_per_round = max(per_round // 10, 3)
        costs = {}
        for _ in range(args.rounds):
            samples["1 key, warm cache"] += sample(send_key, per_round)
            samples["1 key, cold (bcrypt)"] += sample(send_key, cold_per_round, forget)
            costs["cold, 1 key"] = per_request_costs(send_key, forget)
            costs["warm, 1 key"] = per_request_costs(send_key, lambda: None)
            samples["1 key, cache expired, known"] += sample(send_key, cold_per_round, expire)
            costs["expired, known key"] = per_request_costs(send_key, expire)
            add_filler_keys(args.keys - 1, issued.api_key.secret_hash)
            samples["N keys, warm cache"] += sample(send_key, per_round)
            samples["N keys, cold (bcrypt)"] += sample(send_key, cold_per_round, forget)
            samples["session (same request)"] += sample(send_session, per_round)
            costs["cold, N keys"] = per_request_costs(send_key, forget)
            costs["warm, N keys"] = per_request_costs(send_key, lambda: None)
            costs["session (baseline)"] = per_request_costs(send_session, lambda: None)
            total = APIKey.objects.count()
            APIKey.objects.filter(name="filler").delete()
            settle()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    cache_backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    rounds = settings.APIKEY_BCRYPT_ROUNDS
    print(
        f"GET {PATH}  database={connection.vendor}  cache={cache_backend}  "
        f"bcrypt rounds={rounds}  N={total:,} keys  rounds={args.rounds}"
    )
    print(f"{'scenario':<28}{'requests':>9}{'median ms':>11}{'p95 ms':>9}")
    rows = {name: summary(times) for name, times in samples.items()}
    for name, (median, p95) in rows.items():
        print(f"{name:<28}{len(samples[name]):>9}{median:>11.2f}{p95:>9.2f}")
    warm_1, cold_1, warm_n, cold_n, session, _ = (rows[name][0] for name in SCENARIOS)
    print()
    print(f"ratio N keys / 1 key, warm (median):      {warm_n / warm_1:.3f}   (target <= 1.1)")
    print(f"ratio N keys / 1 key, cold (median):      {cold_n / cold_1:.3f}")
    print(f"ratio API key (warm) / session (median):  {warm_n / session:.3f}   (target <= 1.3)")
    print()
    baseline = costs["session (baseline)"][2]
    print(
        f"{'per request':<28}{'bcrypt calls':>13}{'api-key queries':>17}"
        f"{'all queries':>13}{'extra vs session':>18}"
    )
    for name, (bcrypts, queries, total) in costs.items():
        print(f"{name:<28}{bcrypts:>13}{queries:>17}{total:>13}{total - baseline:>+18}")


if __name__ == "__main__":
    main()
