"""Shared fixtures: API clients per role, and the rule that CI never skips a needed service."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need_service(available: bool, what: str) -> None:
    """Skip a test whose service is missing, except in CI, where that is a failure."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI (CI=true) but is not available.")
    pytest.skip(f"{what} is not available.")


def mssql_backend():
    """mssql-django's `mssql.base` module, or a skip (a failure in CI) naming what is missing.

    Loading it imports pyodbc, which needs the unixODBC library (Debian: unixodbc, libltdl7);
    mssql-django turns pyodbc's ImportError into ImproperlyConfigured."""
    from django.core.exceptions import ImproperlyConfigured

    try:
        from mssql import base
    except (ImportError, ImproperlyConfigured) as exc:
        need_service(False, f"mssql-django with pyodbc and unixODBC ({exc})")
    return base


@pytest.fixture(autouse=True)
def _plain_static_storage(settings) -> None:
    # Production serves hashed files from collectstatic; tests read the app folders directly.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # Users are made by the hundred; production's PBKDF2 cost would dominate the suite.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clean_cache() -> None:
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _no_outage_left_over() -> Iterator[None]:
    """Outages are remembered per process (eqms_integration.outages): each test starts with
    every service up, as a new process would, and leaves none down behind it."""
    from apikeys.services import store
    from eqms_integration import outages

    outages._current.clear()
    yield
    outages._current.clear()
    store._unpublished.clear()
    store.memory.clear()


def retry_is_due(service: str) -> None:
    """Move the last failure of `service` RETRY_SECONDS back (eqms_integration.outages): the
    next call that could do without it tries it again, instead of a few seconds later."""
    from eqms_integration import outages

    outages._current[service].last_failure -= outages.RETRY_SECONDS


@dataclass
class LogLines:
    records: list[logging.LogRecord] = field(default_factory=list)

    def of(self, logger: str, level: int = logging.WARNING) -> list[str]:
        return [
            r.getMessage()
            for r in self.records
            if (r.name == logger or r.name.startswith(logger + ".")) and r.levelno >= level
        ]

    def outages(self, service: str) -> list[str]:
        """What eqms_integration.outages logged about one service (down, back)."""
        return [m for m in self.of("eqms_integration.outages") if m.startswith(service + " ")]

    @property
    def tracebacks(self) -> list[logging.LogRecord]:
        return [r for r in self.records if r.exc_info]


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    """Every record logged while the test runs, from the root and from `django` (which does
    not propagate to the root, so caplog misses it)."""
    lines = LogLines()

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.records.append(record)

    handler = Collect(level=logging.DEBUG)
    watched = [logging.getLogger(), logging.getLogger("django")]
    levels = [logger.level for logger in watched]
    for logger in watched:
        logger.addHandler(handler)
        # A Celery test worker started earlier in the session leaves the root at ERROR.
        logger.setLevel(min(logger.level or logging.WARNING, logging.WARNING))
    yield lines
    for logger, level in zip(watched, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
def sync_test_systems(settings, tmp_path) -> None:
    """The ERPs these tests play live on 127.0.0.1 (fake REST APIs, PostgreSQL, MariaDB) and
    in SQLite files under tmp_path: allow exactly those, as an operator allows on-premise
    systems. The defaults stay closed (no private address, no SQLite directory)."""
    settings.SYNC_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.SYNC_SQLITE_DIRS = [str(tmp_path)]


@pytest.fixture
def make_user(db) -> Callable[..., object]:
    def make(username: str = "user", *, role: str | None = None, superuser: bool = False):
        user_model = get_user_model()
        if superuser:
            return user_model.objects.create_superuser(username=username, password="pw-12345678")
        user = user_model.objects.create_user(username=username, password="pw-12345678")
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def client_for(make_user) -> Callable[[str | None], APIClient]:
    """An API client logged in with the given role ("Admin", "Manager", "Auditor"), a user with
    no role (""), a superuser ("superuser"), or nobody (None)."""

    def make(role: str | None) -> APIClient:
        client = APIClient()
        if role is None:
            return client
        if role == "superuser":
            user = make_user("root", superuser=True)
        else:
            user = make_user(f"user-{role or 'norole'}", role=role or None)
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def admin_api(client_for) -> APIClient:
    return client_for("Admin")


@pytest.fixture
def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or ""
    need_service(bool(path) and os.path.exists(path), "Chromium (Debian package `chromium`)")
    return path


@pytest.fixture
def redis_url() -> str:
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        available = True
    except redis.RedisError:
        available = False
    need_service(available, f"Redis at {url}")
    return url


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A port on 127.0.0.1 whose listen queue is full: Linux drops further SYNs, so a new
    connection neither succeeds nor is refused, it hangs until the client gives up."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    queued: list[socket.socket] = []
    for _ in range(64):
        client = socket.socket()
        client.settimeout(0.3)
        try:
            client.connect(("127.0.0.1", port))
        except TimeoutError:
            client.close()
            break
        queued.append(client)
    else:
        pytest.fail("the listen queue never filled")
    yield port
    for client in queued:
        client.close()
    server.close()


def unreachable_database(settings_dict: dict, tmp_path) -> dict:
    """Settings of a connection like `settings_dict` that fails to connect, for real: a
    database file in a directory that does not exist (SQLite), or a port nobody listens on."""
    import socket

    if "sqlite" in settings_dict["ENGINE"]:
        return {"NAME": str(tmp_path / "no-such-dir" / "db.sqlite3")}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return {"HOST": "127.0.0.1", "PORT": str(port)}


def database_url_for_subprocess() -> str:
    """A DATABASE_URL that points another process at this test run's database."""
    from urllib.parse import quote

    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    if connection.vendor == "postgresql":
        auth = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
        return f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    pytest.skip(f"no URL form for {connection.vendor} in this test")


# --- Real Celery processes (worker, beat) on this test run's database, each with a file
# broker of its own under tmp_path.
ROOT = Path(__file__).resolve().parents[1]


def celery_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")}
    env.update(
        {
            "DATABASE_URL": database_url_for_subprocess(),
            "EQMS_VAR_DIR": str(tmp_path),
            "CACHE_URL": "locmemcache://",
            "HEARTBEAT_INTERVAL_SECONDS": "1",
            "PYTHONPATH": str(ROOT),
            **extra,
        }
    )
    return env


@pytest.fixture
def start_celery(tmp_path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start `celery -A eqms_integration <args>` as its own process group; all are stopped
    (SIGKILL) at the end of the test if still running. Output goes to tmp_path/<name>.log."""
    started: list[subprocess.Popen] = []

    def start(name: str, *args: str, **env: str) -> subprocess.Popen:
        log = (tmp_path / f"{name}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "eqms_integration", *args],
            cwd=tmp_path,
            env=celery_env(tmp_path, **env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        stop(process, signal.SIGKILL)


def stop(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    process.wait(timeout=60)


WORKER_ARGS = ("worker", "--without-mingle", "--without-gossip", "--loglevel", "INFO")
