"""The service in production shape for the benches, driven from outside only.

`Stack` starts what the README's *With PostgreSQL (or SQL Server) and Redis* section starts,
each as a process of its own with its output in a log file: a fresh PostgreSQL database, a
Redis db of the bench's (flushed at start and at the end), `manage.py bootstrap`, gunicorn with
N workers, `celery -A eqms_integration worker -Q celery --loglevel INFO` (plus the bench's
extra arguments), the webhook worker `celery -A eqms_integration worker -Q webhooks --pool
threads --concurrency 8` (WEBHOOK_WORKER_ARGS) and `celery -A eqms_integration beat --loglevel
INFO`. Settings are the production
ones (DEBUG off, a random SECRET_KEY, FIELD_ENCRYPTION_KEYS, ALLOWED_HOSTS), except that nothing
terminates TLS here (SECURE_SSL_REDIRECT and the secure-cookie flags off) and the SSRF guards
let 127.0.0.0/8 through so that local receivers and sources work. `embedded=True` starts the
same processes on SQLite, the file broker and the file cache under a temporary EQMS_VAR_DIR
(what `make run` uses, with DEBUG off like production).

Everything the benches learn comes through public interfaces: the REST API (API keys from
`manage.py create_api_key --json`), `manage.py` subprocesses, and SQL on the databases for
setup and verification. Nothing here imports the service's modules.

Teardown (also on Ctrl-C, SIGTERM or an exception): SIGTERM to each process group started
here, SIGKILL after a grace period, the database dropped, the Redis db flushed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis
import requests

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
REDIS = "redis://127.0.0.1:6379"
STOP_GRACE_SECONDS = 20
# The README's webhook worker (section "Webhooks"): a queue of its own and a threads pool.
WEBHOOK_WORKER_ARGS = ("-Q", "webhooks", "--pool", "threads", "--concurrency", "8")
PEERS_VENV = ROOT / "var" / "bench-peers-venv"
PEERS_REQUIREMENTS = ROOT / "bench" / "requirements-peers.txt"
# Variables of the caller that would change what the stack runs on; the stack sets its own.
CLEARED = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "EQMS_VAR_DIR",
    "DEBUG",
    "SECRET_KEY",
    "CELERY_TASK_ALWAYS_EAGER",
    "DJANGO_SETTINGS_MODULE",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fernet_key() -> str:
    """A Fernet key (32 random bytes, URL-safe base64), as generate_encryption_key prints."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def raise_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so every `with Stack(...)` tears down."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def peers_bin() -> Path:
    """The bin/ of the bench-only virtualenv (dlt, pyarrow, py-spy), created or brought in line
    with bench/requirements-peers.txt when needed; the service's .venv is never touched."""
    stamp = PEERS_VENV / ".requirements-installed"
    wanted = PEERS_REQUIREMENTS.read_text()
    if not stamp.exists() or stamp.read_text() != wanted:
        print(f"installing {PEERS_REQUIREMENTS.name} into {PEERS_VENV} ...", file=sys.stderr)
        interpreter = shutil.which("python3.11") or sys.executable
        if not (PEERS_VENV / "bin" / "python").exists():
            subprocess.run([interpreter, "-m", "venv", str(PEERS_VENV)], check=True)  # noqa: S603
        subprocess.run(  # noqa: S603
            [
                str(PEERS_VENV / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "-r",
                str(PEERS_REQUIREMENTS),
            ],
            check=True,
        )
        stamp.write_text(wanted)
    return PEERS_VENV / "bin"


def pg_connect(dbname: str, *, port: int = 5432, autocommit: bool = True) -> psycopg.Connection:
    return psycopg.connect(**{**PG, "port": port}, dbname=dbname, autocommit=autocommit)


def children_of(pid: int) -> list[int]:
    """Direct children of a process (prefork pool processes of a worker), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may contain spaces, so split after the last ')'.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class PrivatePostgres:
    """A PostgreSQL server of the bench's own (initdb in a temporary directory, a free port)
    with pg_stat_statements preloaded, for profiling runs that count queries: the shared
    server on 5432 does not preload it and must not be restarted."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="eqms-bench-pg-"))
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def _as_postgres(self, *argv: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else list(argv)

    def __enter__(self) -> PrivatePostgres:
        found = shutil.which("pg_config")
        bindir = Path(
            subprocess.check_output([found, "--bindir"], text=True).strip()  # noqa: S603
            if found
            else "/nonexistent"
        )
        if not (bindir / "initdb").exists():
            candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
            if not candidates:
                raise RuntimeError("no PostgreSQL server binaries (initdb) on this machine")
            bindir = candidates[-1].parent
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        data = self.dir / "data"
        subprocess.run(  # noqa: S603
            self._as_postgres(
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        log = open(self.dir / "postgres.log", "wb")
        self.process = subprocess.Popen(  # noqa: S603
            self._as_postgres(
                str(bindir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(self.port),
                "-k",
                str(self.dir),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "shared_preload_libraries=pg_stat_statements",
                "-c",
                "pg_stat_statements.track=all",
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with pg_connect("postgres", port=self.port) as db:
                    db.execute("SELECT 1")
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"private PostgreSQL did not start: {self.dir}") from None
                time.sleep(0.2)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)  # fast shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Stack:
    """The service in production shape; use as a context manager."""

    name: str
    web_workers: int = 3
    worker_args: Sequence[str] = ()
    # The webhook worker as the README starts it (its own queue, a threads pool); None: one
    # worker consumes both queues.
    webhook_worker_args: Sequence[str] | None = WEBHOOK_WORKER_ARGS
    redis_db: int = 8
    embedded: bool = False
    worker: bool = True
    beat: bool = True
    pg_port: int = 5432
    log_level: str = "INFO"
    extra_env: dict[str, str] = field(default_factory=dict)
    keep_logs: bool = False

    def __post_init__(self) -> None:
        if not self.name.startswith("bench_"):
            raise ValueError("bench databases are named bench_…")
        self.var_dir = Path(tempfile.mkdtemp(prefix=f"eqms-{self.name}-"))
        self.log_dir = self.var_dir / "logs"
        self.log_dir.mkdir()
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, Process] = {}
        self.admin_password = secrets.token_urlsafe(18)
        self.env = self._environment()

    # --- settings ---------------------------------------------------------------------------
    @property
    def database_url(self) -> str:
        if self.embedded:
            return f"sqlite:///{self.var_dir / 'db.sqlite3'}"
        return f"postgres://postgres@127.0.0.1:{self.pg_port}/{self.name}"

    @property
    def redis_url(self) -> str:
        return f"{REDIS}/{self.redis_db}"

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in CLEARED}
        env.update(
            DEBUG="false",
            SECRET_KEY=secrets.token_urlsafe(50),
            FIELD_ENCRYPTION_KEYS=fernet_key(),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            # Plain HTTP on the loopback: nothing in front terminates TLS.
            SECURE_SSL_REDIRECT="false",
            SESSION_COOKIE_SECURE="false",
            CSRF_COOKIE_SECURE="false",
            SECURE_HSTS_SECONDS="0",
            EQMS_VAR_DIR=str(self.var_dir),
            LOG_LEVEL=self.log_level,
            DJANGO_SUPERUSER_PASSWORD=self.admin_password,
            # Local receivers and sources. The SYNC_* names are read by versions of the
            # service that guard sync connections; older ones ignore them.
            WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8",
            SYNC_ALLOWED_NETWORKS="127.0.0.0/8",
            SYNC_ALLOWED_HOSTS="localhost",
            SYNC_SQLITE_DIRS=str(self.var_dir),
            PYTHONUNBUFFERED="1",
        )
        env["DATABASE_URL"] = self.database_url
        if not self.embedded:
            env["REDIS_URL"] = self.redis_url
        env.update(self.extra_env)
        return env

    # --- lifecycle --------------------------------------------------------------------------
    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        if not self.embedded:
            with pg_connect("postgres", port=self.pg_port) as db:
                db.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
                db.execute(f'CREATE DATABASE "{self.name}"')
            redis.Redis.from_url(self.redis_url).flushdb()
        self.manage("bootstrap", "--verbosity", "0")
        self.spawn(
            "web",
            [
                str(VENV_BIN / "gunicorn"),
                "eqms_integration.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.web_workers),
            ],
        )
        celery = [str(VENV_BIN / "celery"), "-A", "eqms_integration"]
        if self.worker:
            common = ["--loglevel", "INFO", "--without-gossip", "--without-mingle"]
            if self.webhook_worker_args is None:
                self.spawn("worker", [*celery, "worker", *common, *self.worker_args])
            else:
                queue = ["-Q", "celery", "-n", "default@%h"]
                self.spawn("worker", [*celery, "worker", *queue, *common, *self.worker_args])
                self.spawn(
                    "webhook-worker",
                    [*celery, "worker", "-n", "webhooks@%h", *common, *self.webhook_worker_args],
                )
        if self.beat:
            self.spawn("beat", [*celery, "beat", "--loglevel", "INFO"])
        self.wait_ready()

    def spawn(self, name: str, argv: list[str]) -> Process:
        log = self.log_dir / f"{name}.log"
        with open(log, "ab") as out:
            popen = subprocess.Popen(  # noqa: S603 - our own venv's programs
                argv,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped as one, Ctrl-C spared
            )
        self.processes[name] = Process(name, popen, log)
        return self.processes[name]

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        markers = {"worker": "ready.", "webhook-worker": "ready.", "beat": "beat: Starting"}
        pending = {"web"} | {name for name in markers if name in self.processes}
        while pending:
            for name in list(pending):
                process = self.processes[name]
                if not process.alive():
                    raise RuntimeError(f"{name} exited during start-up:\n{process.tail()}")
                if name == "web":
                    with contextlib.suppress(requests.RequestException):
                        if requests.get(self.url("/readyz"), timeout=5).status_code == 200:
                            pending.discard(name)
                elif markers[name] in process.log.read_text(errors="replace"):
                    pending.discard(name)
            if time.monotonic() > deadline:
                tails = "\n".join(f"--- {n}\n{self.processes[n].tail()}" for n in pending)
                raise RuntimeError(f"not ready after {timeout} s: {sorted(pending)}\n{tails}")
            time.sleep(0.2)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.alive():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.popen.pid, signal.SIGCONT)  # a paused worker too
                    os.killpg(process.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in self.processes.values():
            try:
                process.popen.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.popen.pid, signal.SIGKILL)
                process.popen.wait()
        self.processes.clear()
        if not self.embedded:
            with (
                contextlib.suppress(psycopg.Error),
                pg_connect("postgres", port=self.pg_port) as db,
            ):
                db.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            with contextlib.suppress(redis.RedisError):
                redis.Redis.from_url(self.redis_url).flushdb()
        if self.keep_logs:
            print(f"logs kept in {self.log_dir}", file=sys.stderr)
        else:
            shutil.rmtree(self.var_dir, ignore_errors=True)

    # --- control ----------------------------------------------------------------------------
    def delivery_worker(self) -> str:
        return "webhook-worker" if "webhook-worker" in self.processes else "worker"

    def worker_pids(self) -> list[int]:
        """The delivering worker's main process and its pool processes (prefork)."""
        main = self.processes[self.delivery_worker()].popen.pid
        return [main, *children_of(main)]

    def _workers(self) -> list[Process]:
        return [p for name, p in self.processes.items() if name in ("worker", "webhook-worker")]

    def pause_worker(self) -> None:
        for process in self._workers():
            os.killpg(process.popen.pid, signal.SIGSTOP)

    def resume_worker(self) -> None:
        for process in self._workers():
            os.killpg(process.popen.pid, signal.SIGCONT)

    def broker_backlog(self) -> int:
        """Messages waiting in the queues or taken but not acknowledged (Redis)."""
        if self.embedded:
            raise RuntimeError("the embedded stack's broker is a directory of files")
        broker = redis.Redis.from_url(self.redis_url)
        return broker.llen("celery") + broker.llen("webhooks") + broker.hlen("unacked")

    def wait_worker_idle(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while self.broker_backlog():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker left {self.broker_backlog()} messages")
            time.sleep(0.2)

    def check_alive(self) -> None:
        for process in self.processes.values():
            if not process.alive():
                raise RuntimeError(f"{process.name} exited:\n{process.tail()}")

    # --- public interfaces ------------------------------------------------------------------
    def url(self, path: str) -> str:
        return self.base_url + path

    def manage_argv(self, *args: str) -> list[str]:
        return [PYTHON, str(ROOT / "manage.py"), *args]

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(  # noqa: S603
            self.manage_argv(*args), cwd=ROOT, env=self.env, capture_output=True, text=True
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"manage.py {shlex.join(args)} exited {result.returncode}:\n"
                f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
            )
        return result

    def api_key(self, name: str, scopes: Sequence[str]) -> str:
        args = ["create_api_key", "--name", name, "--json"]
        for scope in scopes:
            args += ["--scope", scope]
        return json.loads(self.manage(*args).stdout)["key"]

    def client(self, key: str) -> requests.Session:
        session = requests.Session()
        session.headers.update({"X-API-Key": key, "Accept": "application/json"})
        return session

    def sql(self) -> psycopg.Connection:
        """A connection to the QMS database, for setup and verification only."""
        if self.embedded:
            raise RuntimeError("the embedded stack's database is SQLite: use sqlite3")
        return pg_connect(self.name, port=self.pg_port)

    def describe(self) -> str:
        database = "SQLite (embedded)" if self.embedded else f"PostgreSQL {self.name}"
        broker = "file broker" if self.embedded else f"Redis db {self.redis_db}"
        worker = " ".join(self.worker_args) or "(README defaults)"
        workers = f"celery worker --loglevel INFO {worker}"
        if self.webhook_worker_args is not None:
            workers = (
                f"celery worker -Q celery {worker} + celery worker "
                f"{' '.join(self.webhook_worker_args)}"
            )
        return f"{database}, {broker}, gunicorn --workers {self.web_workers}, {workers}, beat"


def ok(response: requests.Response) -> dict:
    """The JSON of a 2xx answer; anything else fails with the service's error body."""
    if not response.ok:
        raise RuntimeError(
            f"{response.request.method} {response.url} -> {response.status_code}: "
            f"{response.text[:1000]}"
        )
    return response.json() if response.content else {}
