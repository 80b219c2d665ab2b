"""Operator commands: bootstrap (migrate, roles, admin user) and serve (web + worker + beat)."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from prometheus_client.parser import text_string_to_metric_families

from tests.testenv import TEST_DEFAULTS

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_ensure_admin_generates_a_password_prints_it_once_and_it_works(monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)

    first = run("ensure_admin")
    second = run("ensure_admin")

    password = first.split("password: ")[1].split()[0]
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password(password)
    assert "shown once" in first
    assert "exists; nothing to do" in second and password not in second


@pytest.mark.django_db
def test_the_superuser_ensure_admin_creates_is_in_the_audit_trail_without_its_password(
    monkeypatch,
):
    from audit.models import AuditEvent

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "from-the-env-123")

    run("ensure_admin")
    run("ensure_admin")

    admin = get_user_model().objects.get(username="admin")
    (event,) = AuditEvent.objects.filter(object_type="user", object_id=str(admin.pk))
    assert (event.action, event.channel, event.actor_type) == ("created", "command", "system")
    assert event.changes["is_superuser"] == [None, True]
    assert "from-the-env-123" not in json.dumps(event.changes) and "password" not in event.changes


@pytest.mark.django_db
def test_ensure_admin_takes_the_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "from-the-env-123")

    output = run("ensure_admin")

    assert "from-the-env-123" not in output
    assert get_user_model().objects.get(username="admin").check_password("from-the-env-123")


def test_a_command_with_a_missing_setting_says_so_in_one_line_and_exits_2(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {*TEST_DEFAULTS, "DEBUG"}}
    env.update({"EQMS_VAR_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)})

    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "list_syncs"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "SECRET_KEY is missing" in result.stderr


def test_make_runs_settings_file_is_used_only_when_debug_is_not_exported(tmp_path, monkeypatch):
    from eqms_integration import runenv

    monkeypatch.setenv("DEBUG", "true")
    monkeypatch.setenv("SECRET_KEY", "k" * 60)
    path = tmp_path / runenv.FILE_NAME
    written = runenv.save(path, ["DEBUG", "SECRET_KEY", "NOT_SET_ANYWHERE"])
    monkeypatch.delenv("SECRET_KEY")

    assert written == ["DEBUG", "SECRET_KEY"]
    assert path.stat().st_mode & 0o077 == 0  # owner only: it may hold a secret key
    assert runenv.load(path) == []  # DEBUG exported: the operator's own settings win
    monkeypatch.delenv("DEBUG")
    assert runenv.load(path) == ["DEBUG", "SECRET_KEY"]
    assert os.environ["SECRET_KEY"] == "k" * 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - local URL
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_serve_runs_web_worker_and_beat_and_ctrl_c_stops_them_all(tmp_path):
    """What `make run` does, on a fresh var/ folder with no services."""
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {*TEST_DEFAULTS, "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CACHE_URL"}
    }
    env.update(
        {
            "EQMS_VAR_DIR": str(tmp_path),
            "DEBUG": "true",
            "PYTHONPATH": str(ROOT),
            "APIKEY_USAGE_FLUSH_SECONDS": "5",
            "APIKEY_USAGE_PUSH_SECONDS": "1",
            "METRICS_TOKEN": "scrape-me-0123456789",
        }
    )
    stale = tmp_path / "prometheus" / "counter_424242.db"  # left by processes of a former start
    stale.parent.mkdir()
    stale.write_bytes(b"not a metrics file")
    manage = [sys.executable, str(ROOT / "manage.py")]
    boot = subprocess.run(
        [*manage, "bootstrap"], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert boot.returncode == 0, boot.stderr
    assert "Created superuser 'admin' with password:" in boot.stdout
    created = subprocess.run(
        [*manage, "create_api_key", "--name", "probe", "--scope", "ncr:read", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    api_key = json.loads(created.stdout)
    database = sqlite3.connect(tmp_path / "db.sqlite3")

    server = subprocess.Popen(
        [
            *manage,
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--web-workers",
            "1",
            "--concurrency",
            "1",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives it
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(server.stdout), daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (
            any(" ready." in line for line in lines)
            and any("beat: Starting" in line for line in lines)
        ):
            time.sleep(0.5)
        assert get(f"{base}/healthz")[0] == 200
        assert get(f"{base}/readyz")[0] == 200
        assert get(f"{base}/admin/login/")[0] == 200
        assert get(f"{base}/api/docs/")[0] == 200
        css = get(f"{base}/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css")
        assert css[0] == 200 and len(css[1]) > 1000
        assert get(f"{base}/api/ncrs/")[0] == 401
        keyed = urllib.request.Request(  # noqa: S310 - local URL
            f"{base}/api/ncrs/", headers={"X-API-Key": api_key["key"]}
        )
        for _ in range(3):
            with urllib.request.urlopen(keyed, timeout=5) as response:  # noqa: S310 - local URL
                assert response.status == 200
        # The web process pushes usage to the cache; beat schedules the flush; the worker runs it.
        usage = 0
        while time.monotonic() < deadline + 30 and usage != 3:
            time.sleep(1)
            usage = database.execute(
                "SELECT usage_count FROM apikeys_apikey WHERE id = ?", (api_key["id"],)
            ).fetchone()[0]
        assert usage == 3
        # Worker and beat beat; /metrics adds up what the web process counted.
        while (
            time.monotonic() < deadline + 60
            and json.loads(get(f"{base}/readyz")[1])["status"] != "ready"
        ):
            time.sleep(0.5)
        assert json.loads(get(f"{base}/readyz")[1])["status"] == "ready"
        scrape = urllib.request.Request(  # noqa: S310 - local URL
            f"{base}/metrics", headers={"Authorization": "Bearer scrape-me-0123456789"}
        )
        with urllib.request.urlopen(scrape, timeout=5) as response:  # noqa: S310 - local URL
            text = response.read().decode()
        accepted = [
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "eqms_api_key_auth_total" and sample.labels["outcome"] == "accepted"
        ]
        assert accepted == [3.0]
        assert not stale.exists()
        # An operator command beside it, with nothing exported but where var/ is.
        beside = subprocess.run(
            [*manage, "list_api_keys"],
            env={k: v for k, v in env.items() if k != "DEBUG"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert beside.returncode == 0, beside.stderr
        assert "probe" in beside.stdout
        assert "using the settings `make run` saved in" in beside.stderr
    finally:
        os.killpg(server.pid, signal.SIGINT)  # what Ctrl-C sends to the whole group
        server.wait(timeout=60)
        reader.join(timeout=10)
    output = "".join(lines)

    assert server.returncode == 0, output
    assert "celery@" in output and "beat: Starting" in output
    assert "Stopped." in output
    with pytest.raises(ProcessLookupError):
        os.killpg(server.pid, 0)  # nothing of the group is left running
    assert not (Path.cwd() / "control").exists(), "the file broker wrote outside EQMS_VAR_DIR"
