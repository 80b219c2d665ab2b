"""Servers a fault test owns: a redis-server and a PostgreSQL cluster (initdb/pg_ctl), each on
a free port in a temporary directory, stopped and started again mid-test. Never the shared
servers of the machine."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until(condition, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class RedisServer:
    """`redis-server` without persistence: a restart loses what it held, as a cache may."""

    executable: str
    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_until(lambda: _port_open(self.port), f"redis-server on port {self.port} answering")

    def stop(self) -> None:
        """Down: every connection is refused until start()."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None
        _wait_until(lambda: not _port_open(self.port), "redis-server stopping")

    def pause(self) -> None:
        """Unresponsive but holding its data (a partition): connections hang until they time out."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


def redis_executable() -> str | None:
    return shutil.which("redis-server")


@dataclass
class PostgresCluster:
    """A PostgreSQL cluster of the test's own (initdb), trust authentication on 127.0.0.1."""

    bindir: Path
    directory: Path
    port: int = field(default_factory=free_port)
    owner: str | None = None  # initdb and postgres refuse to run as root

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.owner:
            command = ["runuser", "-u", self.owner, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def create(self) -> None:
        if self.owner:
            shutil.chown(self.directory, user=self.owner)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self.start()

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.directory / "server.log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        """A fast shutdown: open connections are terminated, new ones refused."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        with suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def postgres_bindir() -> tuple[Path | None, str]:
    """The newest installed PostgreSQL's bin directory, or None and why not."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[4])
    )
    found = candidates[-1] if candidates else shutil.which("pg_ctl")
    if not found or not Path(found).with_name("initdb").exists():
        return None, "initdb/pg_ctl (Debian package postgresql)"
    return Path(found).parent, ""


def postgres_owner() -> tuple[str | None, str]:
    """Who runs the cluster: this user, or `postgres` when this is root (via runuser)."""
    if os.geteuid() != 0:
        return None, ""
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return None, "a `postgres` user to run initdb as (the tests run as root)"
    if not shutil.which("runuser"):
        return None, "runuser (util-linux), to run initdb as `postgres`"
    return "postgres", ""


def temporary_directory(prefix: str) -> Path:
    # Not under pytest's tmp_path: its parents are private to root, and postgres must enter it.
    return Path(tempfile.mkdtemp(prefix=prefix))
