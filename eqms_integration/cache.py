"""The embedded cache: Django's file cache, made safe for counters shared by local processes.

Django's FileBasedCache reads then writes in `incr` and `add` (two processes can both read 4
and both write 5), resets an entry's lifetime to the default on `incr`, and deletes random
entries once it holds 300 of them, which can drop a failure counter or a rate window. Here:

- `add` and `incr` (so `decr`) run under an exclusive lock (flock) on one lock file in the
  cache directory, which every process using the directory (web, worker, beat) shares;
- `incr` keeps the expiry the entry was created with;
- MAX_ENTRIES defaults to 1,000,000, and the directory is examined at most every
  CULL_INTERVAL seconds per process (default 60) instead of on every `set`: above
  SWEEP_ABOVE entries (default 10,000) expired ones are deleted, and only above MAX_ENTRIES
  random ones.

Redis remains the production cache; this one serves a single host.
"""

from __future__ import annotations

import os
import pickle
import random
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.filebased import FileBasedCache
from django.core.files import locks

LOCK_FILE = "counters.lock"  # not a *.djcache name: clear() and culling leave it alone
_MISSING = object()


class LockedFileBasedCache(FileBasedCache):
    def __init__(self, dir: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS") or {})
        options.setdefault("MAX_ENTRIES", 1_000_000)
        self._cull_interval = float(options.pop("CULL_INTERVAL", 60))
        self._sweep_above = int(options.pop("SWEEP_ABOVE", 10_000))
        super().__init__(dir, {**params, "OPTIONS": options})
        self._next_cull = 0.0

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self._createdir()
        with open(os.path.join(self._dir, LOCK_FILE), "ab") as lock:
            locks.lock(lock, locks.LOCK_EX)
            try:
                yield
            finally:
                locks.unlock(lock)

    def add(
        self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        self._cull()  # outside the lock: culling takes it itself
        fname = self._key_to_file(key, version)
        with self._locked():
            if self._read(fname)[1] is not _MISSING:
                return False
            self._replace(fname, self.get_backend_timeout(timeout), value)
            return True

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> Any:
        fname = self._key_to_file(key, version)
        with self._locked():
            expiry, value = self._read(fname)
            if value is _MISSING:
                raise ValueError(f"Key '{key}' not found")
            value += delta
            self._replace(fname, expiry, value)
        return value

    def _read(self, fname: str) -> tuple[float | None, Any]:
        """(expiry, value) of a live entry, or (None, _MISSING). Pickle as in Django's file
        cache: the directory is private to the service (mode 0700)."""
        try:
            with open(fname, "rb") as f:
                try:
                    expiry = pickle.load(f)  # noqa: S301
                except EOFError:
                    return None, _MISSING
                if expiry is not None and expiry < time.time():
                    return None, _MISSING
                return expiry, pickle.loads(zlib.decompress(f.read()))  # noqa: S301
        except FileNotFoundError:
            return None, _MISSING

    def _replace(self, fname: str, expiry: float | None, value: Any) -> None:
        """Write an entry with a given absolute expiry; readers see the old or the new file."""
        fd, tmp_path = tempfile.mkstemp(dir=self._dir)
        try:
            with open(fd, "wb") as f:
                f.write(pickle.dumps(expiry, self.pickle_protocol))
                f.write(zlib.compress(pickle.dumps(value, self.pickle_protocol)))
            os.replace(tmp_path, fname)
        except BaseException:
            with suppress(FileNotFoundError):
                os.remove(tmp_path)
            raise

    def _cull(self) -> None:
        now = time.monotonic()
        if now < self._next_cull:
            return
        self._next_cull = now + self._cull_interval
        filelist = self._list_cache_files()
        if len(filelist) >= self._sweep_above:
            filelist = [fname for fname in filelist if not self._delete_if_expired(fname)]
        if len(filelist) < self._max_entries:
            return
        if self._cull_frequency == 0:
            self.clear()
            return
        for fname in random.sample(filelist, int(len(filelist) / self._cull_frequency)):
            self._delete(fname)

    def _delete_if_expired(self, fname: str) -> bool:
        """True if the entry is gone. Under the lock, so that a counter that `add` has just
        recreated at the same path is not deleted in its place."""
        with self._locked():
            if self._read(fname)[1] is not _MISSING:
                return False
            self._delete(fname)
            return True
