"""Fuzz every operation of the REST API with schemathesis against a live server.

    .venv/bin/python tests/fuzz/run_schemathesis.py [--max-examples N] [--seed S] [--keep]
                                                    [--paths REGEX]

In order: re-runs itself in a network namespace of its own whose only interface is loopback,
so nothing the fuzzer makes the service call (webhook tests, connection tests, syncs) can
leave the machine: outside systems are played by a local receiver, anything else fails at
once. Bootstraps the embedded stack (SQLite, file broker, file cache) into a temporary
EQMS_VAR_DIR with DEBUG off, issues an API key with `*`, logs the admin in through the admin's
login form, and seeds one of each object through the REST API (so small ids exist), a finished
sync run and a pending conflict. Then, for each pass (the key, then the admin session with its
CSRF token), the seeded database is restored, gunicorn serves on a free port and schemathesis
runs every operation: no answer may be a 5xx, and every status, content type and body must be
one the schema documents for the operation.

Exit status 0 when both passes found nothing, 1 otherwise; the server's log follows a failed
pass, so the traceback of a 500 is in the output.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
ISOLATED = "EQMS_FUZZ_ISOLATED"
PASSWORD = "fuzz-" + secrets.token_urlsafe(12)
# No 5xx; every status, content type and body as the schema documents it for the operation.
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    )
)


def isolate_network() -> None:
    """Re-exec inside a new network namespace with only loopback, brought up."""
    if os.environ.get(ISOLATED):
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)  # noqa: S607
        return
    unshare = shutil.which("unshare")
    if unshare is None:
        sys.exit("unshare (util-linux) is needed to keep the fuzzed server off the network.")
    argv = [unshare, "--net"] + ([] if os.geteuid() == 0 else ["--map-root-user"])
    os.execve(unshare, [*argv, PYTHON, *sys.argv], {**os.environ, ISOLATED: "1"})  # noqa: S606


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Outside(BaseHTTPRequestHandler):
    """Plays every outside system: webhook receivers, and a REST API with no items."""

    def _answer(self) -> None:
        self.rfile.read(min(int(self.headers.get("Content-Length") or 0), 1_000_000))
        body = b"[]" if self.command == "GET" else b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def outside_systems() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Outside)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def service_env(tmp: Path) -> dict[str, str]:
    from cryptography.fernet import Fernet

    drop = {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CACHE_URL", "DEBUG"}
    env = {name: value for name, value in os.environ.items() if name not in drop}
    (tmp / "erp").mkdir()
    env.update(
        DJANGO_SETTINGS_MODULE="tests.fuzz.settings",
        EQMS_VAR_DIR=str(tmp / "var"),
        SECRET_KEY=secrets.token_urlsafe(50),
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
        # Outgoing requests may reach the local receiver; nothing else exists in the namespace.
        WEBHOOK_ALLOWED_NETWORKS="127.0.0.1/32",
        SYNC_ALLOWED_NETWORKS="127.0.0.1/32",
        SYNC_SQLITE_DIRS=str(tmp / "erp"),
        SYNC_LOCAL_SETTLE_SECONDS="0",
        LOG_LEVEL="ERROR",  # 4xx are the point; only tracebacks matter
    )
    return env


def manage(env: dict[str, str], *args: str, ok: tuple[int, ...] = (0,)) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode not in ok:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@contextmanager
def server(env: dict[str, str], log: Path) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        PYTHON,
        "-m",
        "gunicorn",
        "eqms_integration.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--threads",
        "4",
        "--timeout",
        "120",
        "--no-control-socket",
        # No cap on the request line: the fuzzer's long query strings are for the app to
        # answer (a proxy in front has its own cap, answered 414 by the proxy).
        "--limit-request-line",
        "0",
    ]
    # Run from a scratch directory: a file the fuzzer makes the service create by a relative
    # path (an SQLite connection tested) lands there, not in the source tree.
    scratch = log.parent / "cwd"
    scratch.mkdir(exist_ok=True)
    with log.open("a") as out:
        process = subprocess.Popen(
            command, cwd=scratch, env={**env, "PYTHONPATH": str(ROOT)}, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=5).ok:
                    break
            except requests.RequestException:  # not listening yet, or workers still booting
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"gunicorn did not come up:\n{log.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def admin_session(base: str) -> requests.Session:
    """Log in through the admin's own form, as a person would."""
    session = requests.Session()
    session.get(f"{base}/admin/login/", timeout=10).raise_for_status()
    form = {
        "username": "admin",
        "password": PASSWORD,
        "next": "/admin/",
        "csrfmiddlewaretoken": session.cookies["csrftoken"],
    }
    session.post(f"{base}/admin/login/", data=form, timeout=10).raise_for_status()
    if "sessionid" not in session.cookies:
        sys.exit("The admin login gave no session.")
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    return session


def seed(api: requests.Session, base: str, env: dict[str, str], outside: str) -> None:
    """One of each object (so ids 1, 2, … exist for the fuzzer), a finished run, a conflict."""

    def call(method: str, path: str, body: dict | None = None) -> dict:
        answer = api.request(method, f"{base}/api/{path}", json=body, timeout=30)
        if answer.status_code >= 300:
            sys.exit(f"seeding {method} /api/{path} answered {answer.status_code}: {answer.text}")
        return answer.json() if answer.content else {}

    call(
        "POST",
        "webhooks/",
        {"name": "Receiver", "url": f"{outside}/hook", "events": ["ncr.created", "capa.created"]},
    )
    ncr = call("POST", "ncrs/", {"title": "Scratch on housing", "severity": "minor"})
    call(
        "POST",
        "capas/",
        {"title": "Retrain operators", "capa_type": "corrective", "ncr": ncr["id"]},
    )
    call("POST", f"ncrs/{ncr['id']}/close/")
    call("POST", "ncrs/", {"title": "Burr on edge", "severity": "major"})
    call("POST", "suppliers/", {"number": "SUP-1", "name": "Acme"})
    erp = Path(env["SYNC_SQLITE_DIRS"]) / "erp.sqlite3"
    with sqlite3.connect(erp) as db:
        db.execute(
            "CREATE TABLE equipment (equipment_no TEXT PRIMARY KEY, "
            "description TEXT NOT NULL, changed_at TIMESTAMP)"
        )
        rows = [(f"EQ-{n}", f"Gauge {n}", f"2026-01-0{n} 08:00:00") for n in (1, 2, 3)]
        db.executemany("INSERT INTO equipment VALUES (?, ?, ?)", rows)
    sqlite = call(
        "POST", "sync/connections/", {"name": "ERP", "kind": "sqlite", "database": str(erp)}
    )
    call(
        "POST",
        "sync/connections/",
        {"name": "Shop API", "kind": "rest", "base_url": f"{outside}/api/"},
    )
    config = call(
        "POST",
        "sync/configurations/",
        {
            "name": "ERP equipment",
            "system_type": "erp",
            "connection": sqlite["id"],
            "entity_type": "equipment",
            "sync_direction": "bidirectional",
            "sync_type": "delta",
            "remote_object": "equipment",
            "remote_key": "equipment_no",
            "delta_field": "changed_at",
            "conflict_strategy": "manual",
            "field_mappings": [{"local": "name", "remote": "description"}],
        },
    )
    manage(env, "run_sync", str(config["id"]))
    with sqlite3.connect(erp) as db:
        db.execute(
            "UPDATE equipment SET description = 'ERP side', changed_at = "
            "'2026-02-01 08:00:00' WHERE equipment_no = 'EQ-1'"
        )
    gauge = call("GET", "equipment/?number=EQ-1")["results"][0]
    call("PATCH", f"equipment/{gauge['id']}/", {"name": "QMS side"})
    # Leaves a pending conflict: run_sync exits 3 (success with conflicts).
    manage(env, "run_sync", str(config["id"]), ok=(3,))
    call("POST", f"sync/configurations/{config['id']}/execute/", {"dry_run": True})  # queued


def schemathesis(
    base: str, headers: dict[str, str], args: argparse.Namespace, name: str, tmp: Path
) -> int:
    command = [
        str(Path(PYTHON).with_name("schemathesis")),
        "run",
        f"{base}/api/schema/",
        "--checks",
        CHECKS,
        "--max-examples",
        str(args.max_examples),
        "--seed",
        str(args.seed),
        # One worker: Python 3.11 parsers are not thread-safe (hypothesis describes its
        # strategies with ast.parse, which fails with SystemError under two threads).
        "--workers",
        "1",
        "--request-timeout",
        "60",
        "--suppress-health-check",
        "all",
        # Our credentials only: the schema's security schemes would add made-up ones.
        "--generation-with-security-parameters",
        "false",
        "--report",
        "junit",
        "--report-junit-path",
        str(tmp / f"{name}.xml"),
    ]
    if args.paths:
        command += ["--include-path-regex", args.paths]
    for header, value in headers.items():
        command += ["--header", f"{header}: {value}"]
    print(f"\n=== schemathesis, {name}", flush=True)
    return subprocess.run(command, cwd=tmp).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=20, help="test cases per operation")
    parser.add_argument("--seed", type=int, default=secrets.randbelow(2**31))
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--paths", help="only the operations whose path matches this regex")
    args = parser.parse_args()
    isolate_network()
    tmp = Path(tempfile.mkdtemp(prefix="eqms-fuzz-"))
    print(f"fuzzing in {tmp}, seed {args.seed}, {args.max_examples} examples", flush=True)
    env = service_env(tmp)
    manage(env, "bootstrap")
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    key = json.loads(manage(env, "create_api_key", "--name", "fuzz", "--scope", "*", "--json"))
    database, log = tmp / "var" / "db.sqlite3", tmp / "server.log"
    failed = 0
    with outside_systems() as outside:
        with server(env, log) as base:
            api = admin_session(base)
            seed(api, base, env, outside)
        shutil.copy(database, tmp / "seeded.sqlite3")
        cookies = "; ".join(f"{name}={value}" for name, value in api.cookies.items())
        passes = {
            "api-key": {"X-API-Key": key["key"]},
            "admin-session": {"Cookie": cookies, "X-CSRFToken": api.cookies["csrftoken"]},
        }
        for name, headers in passes.items():
            shutil.copy(tmp / "seeded.sqlite3", database)  # each pass starts from the seed
            log.write_text("")
            with server(env, log) as base:
                code = schemathesis(base, headers, args, name, tmp)
            if code:
                failed = 1
                print(f"\n=== server log of the {name} pass\n{log.read_text()[-30000:]}")
    print(summary([tmp / f"{name}.xml" for name in passes]))
    if args.keep or failed:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return failed


def summary(reports: list[Path]) -> str:
    """One line over both passes, counting operations (each pass tests every operation)."""
    from xml.etree import ElementTree

    passed = failed = 0
    for report in reports:
        if not report.exists():
            continue
        for case in ElementTree.parse(report).iter("testcase"):  # noqa: S314 - our own file
            broken = case.find("failure") is not None or case.find("error") is not None
            failed += broken
            passed += not broken
    return f"fuzz: {passed} passed, {failed} failed"


if __name__ == "__main__":
    sys.exit(main())
