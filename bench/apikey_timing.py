"""Benchmark: can a client tell an unknown key_id from a known key_id with a wrong secret by
the time the 401 takes? (It must not: that would tell which key_ids exist.)

Run:  .venv/bin/python bench/apikey_timing.py [--requests 200]
Uses DATABASE_URL / REDIS_URL / CACHE_URL like the service (default: SQLite + file cache under
var/), in a throwaway test database, at the production bcrypt cost (APIKEY_BCRYPT_ROUNDS,
default 10). Requests alternate between the two kinds, each from an address of its own and
each key_id guessed at most 5 times, so that no failure cap is reached; a last round repeats
both from one address past its caps.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eqms_integration.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "b" * 40)
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("LOG_LEVEL", "ERROR")

import django

django.setup()

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test.utils import setup_test_environment
from rest_framework.test import APIClient

from apikeys import services
from apikeys.keyformat import build_key, generate_key_id

PATH = "/api/ncrs/"


def timed(key: str, ip: str) -> tuple[float, int]:
    client = APIClient(REMOTE_ADDR=ip)
    client.credentials(HTTP_X_API_KEY=key)
    start = time.perf_counter()
    status = client.get(PATH).status_code
    return (time.perf_counter() - start) * 1000, status


def report(label: str, samples: dict[str, list[tuple[float, int]]]) -> None:
    print(f"\n{label}")
    print(f"{'presented key':<34}{'requests':>9}{'status':>8}{'median ms':>11}{'p95 ms':>9}")
    medians = []
    for name, results in samples.items():
        times = sorted(t for t, _ in results)
        statuses = ",".join(sorted({str(s) for _, s in results}))
        median, p95 = statistics.median(times), times[max(int(len(times) * 0.95) - 1, 0)]
        medians.append(median)
        print(f"{name:<34}{len(times):>9}{statuses:>8}{median:>11.2f}{p95:>9.2f}")
    print(f"difference of medians: {abs(medians[0] - medians[1]):.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests of each kind")
    args = parser.parse_args()

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        cache.clear()
        # Several keys, each guessed fewer times than any cap allows.
        key_ids = [
            services.apikey_create(name=f"bench {n}", scopes=["ncr:read"]).api_key.key_id
            for n in range(args.requests // 5 + 1)
        ]
        guesses = iter(range(10**9))

        def known_wrong() -> str:
            return build_key(key_ids[next(guesses) // 5 % len(key_ids)])[0]

        kinds = {
            "unknown key_id": lambda: build_key(generate_key_id())[0],
            "known key_id, wrong secret": known_wrong,
        }
        for _ in range(5):  # warm up both paths
            for make in kinds.values():
                timed(make(), "192.0.2.1")
        cache.clear()
        samples: dict[str, list[tuple[float, int]]] = {name: [] for name in kinds}
        for i in range(args.requests):
            for n, (name, make) in enumerate(kinds.items()):
                # A fresh address (and IPv4 bucket) per request: no cap is reached.
                ip = f"10.{n}.{i // 250}.{i % 250 + 1}"
                samples[name].append(timed(make(), ip))
        report("Below the caps (every request runs the full check)", samples)

        capped: dict[str, list[tuple[float, int]]] = {name: [] for name in kinds}
        for _ in range(settings.APIKEY_MAX_FAILURES_PER_IP + 5):
            for make in kinds.values():
                timed(make(), "198.51.100.9")
        for _ in range(args.requests):
            for name, make in kinds.items():
                capped[name].append(timed(make(), "198.51.100.9"))
        report("One address past its caps", capped)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    print(
        f"\nGET {PATH}  database={connection.vendor}  cache={backend}  "
        f"bcrypt rounds={settings.APIKEY_BCRYPT_ROUNDS}"
    )


if __name__ == "__main__":
    main()
