"""The embedded cache that failure caps and rate limits count in when there is no Redis:
increments are exact across processes and keep the lifetime the counter was created with."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

from eqms_integration.cache import LockedFileBasedCache
from eqms_integration.env import cache_config

ROOT = Path(__file__).resolve().parents[2]

INCREMENT = """
import sys, time
from eqms_integration.cache import LockedFileBasedCache
cache = LockedFileBasedCache(sys.argv[1], {})
time.sleep(max(float(sys.argv[2]) - time.time(), 0))  # all processes start together
for _ in range(int(sys.argv[3])):
    cache.incr("counter")
"""


def test_the_embedded_default_cache_is_the_locked_file_cache(tmp_path):
    config = cache_config(cache_url="", redis_url="", file_cache_dir=tmp_path)

    assert config == {
        "BACKEND": "eqms_integration.cache.LockedFileBasedCache",
        "LOCATION": str(tmp_path),
    }


def test_processes_incrementing_one_counter_together_lose_no_increment(tmp_path):
    processes, times = 4, 250
    cache = LockedFileBasedCache(str(tmp_path), {})
    cache.add("counter", 0, timeout=600)
    start_at = str(time.time() + 2)

    workers = [
        subprocess.Popen(
            [sys.executable, "-c", INCREMENT, str(tmp_path), start_at, str(times)], cwd=ROOT
        )
        for _ in range(processes)
    ]

    assert [worker.wait(timeout=120) for worker in workers] == [0] * processes
    assert cache.get("counter") == processes * times


def test_add_creates_a_counter_only_once(tmp_path):
    cache = LockedFileBasedCache(str(tmp_path), {})

    assert cache.add("counter", 1, timeout=60) is True
    assert cache.add("counter", 5, timeout=60) is False
    assert cache.get("counter") == 1


def test_incr_and_decr_keep_the_lifetime_given_at_creation(tmp_path):
    cache = LockedFileBasedCache(str(tmp_path), {"TIMEOUT": 300})
    now = time.time()
    cache.add("window", 1, timeout=60)
    cache.add("forever", 1, timeout=None)

    assert cache.incr("window", 5) == 6 and cache.decr("window") == 5
    assert cache.incr("forever") == 2
    with mock.patch("time.time", return_value=now + 61):
        assert cache.get("window") is None  # not extended to the default 300 s
        assert cache.get("forever") == 2
    with mock.patch("time.time", return_value=now + 10**6):
        assert cache.get("forever") == 2


def test_incr_of_a_missing_or_expired_counter_is_a_value_error(tmp_path):
    cache = LockedFileBasedCache(str(tmp_path), {})
    cache.add("window", 1, timeout=60)

    with mock.patch("time.time", return_value=time.time() + 61):
        for name in ("window", "never-set"):
            try:
                cache.incr(name)
            except ValueError:
                continue
            raise AssertionError(f"incr of {name!r} did not raise ValueError")


def test_entries_are_not_dropped_past_a_few_hundred(tmp_path):
    cache = LockedFileBasedCache(str(tmp_path), {"OPTIONS": {"CULL_INTERVAL": 0}})

    for n in range(400):
        cache.set(f"entry-{n}", n, timeout=600)

    assert all(cache.get(f"entry-{n}") == n for n in range(400))


def test_expired_entries_are_swept_from_disk_once_the_directory_is_large(tmp_path):
    options = {"CULL_INTERVAL": 0, "SWEEP_ABOVE": 10}
    cache = LockedFileBasedCache(str(tmp_path), {"OPTIONS": options})
    for n in range(20):
        cache.set(f"old-{n}", n, timeout=60 if n % 2 else None)

    with mock.patch("time.time", return_value=time.time() + 61):
        cache.set("new", 1, timeout=60)

    assert len(list(tmp_path.glob("*.djcache"))) == 11  # ten without expiry and the new one
    assert cache.get("new") == 1 and cache.get("old-0") == 0
