"""PostgreSQL goes down under the service in production shape: gunicorn (2 workers) and a Celery
worker on a PostgreSQL cluster of the test's own, which the test stops and starts again.

No request answers 500 meanwhile (503 with Retry-After, in the error shape), each process logs
the outage once and no traceback, a sync run that loses the database ends `failed` with the
real cause as soon as the database is back, and nothing committed is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import requests

from tests.outages.servers import free_port
from tests.sync.rest_server import RESOURCE, FakeERP
from tests.webhooks.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "eqms"
BATCH = 10
ITEMS = 100


@dataclass
class Service:
    url: str
    key: str
    env: dict[str, str]
    web_log: Path
    worker_log: Path

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, headers={"X-API-Key": self.key}, timeout=30, **kwargs)

    def post(self, path: str, payload: dict) -> requests.Response:
        headers = {"X-API-Key": self.key}
        return requests.post(self.url + path, json=payload, headers=headers, timeout=30)

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def service(postgres_cluster, tmp_path_factory) -> Iterator[Service]:
    with psycopg.connect(postgres_cluster.url(), autocommit=True) as db:
        db.execute(f"CREATE DATABASE {DATABASE}")
    var = tmp_path_factory.mktemp("var")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("REDIS_URL", "CELERY_BROKER_URL", "CACHE_URL", "DATABASE_URL")
    }
    env.update(
        {
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": postgres_cluster.url(DATABASE),
            "EQMS_VAR_DIR": str(var),
            "APIKEY_BCRYPT_ROUNDS": "4",
            "LOG_LEVEL": "INFO",
            "PYTHONPATH": str(ROOT),
            "SYNC_ALLOWED_NETWORKS": "127.0.0.0/8",
            "SYNC_LOCAL_SETTLE_SECONDS": "0",
        }
    )
    port = free_port()
    service = Service(f"http://127.0.0.1:{port}", "", env, var / "web.log", var / "worker.log")
    service.manage("migrate", "--verbosity", "0")
    service.key = json.loads(
        service.manage("create_api_key", "--name", "ERP", "--scope", "*", "--json")
    )["key"]
    with service.web_log.open("w") as web_out, service.worker_log.open("w") as worker_out:
        web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "eqms_integration.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--no-control-socket",
            ],
            env=env,
            cwd=ROOT,
            stdout=web_out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "eqms_integration",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "1",
                "--without-gossip",
                "--without-mingle",
            ],
            env=env,
            cwd=ROOT,
            stdout=worker_out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: _answers(service.url + "/healthz"), timeout=60)
        yield service
    finally:
        _stop(web)
        _stop(worker)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:  # not listening yet, or still loading
        return False


def _log_since(path: Path, offset: int) -> str:
    return path.read_text()[offset:]


def _assert_unavailable(response: requests.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert int(response.headers["Retry-After"]) > 0
    assert response.json()["code"] == "service_unavailable"


def test_no_request_answers_500_while_the_database_is_down_and_each_process_logs_it_once(
    service, postgres_cluster
):
    assert service.get("/api/ncrs/").status_code == 200  # the key is verified and cached
    log_start = len(service.web_log.read_text())

    postgres_cluster.stop()
    try:
        answers = []
        for n in range(8):
            answers += [
                service.get("/api/ncrs/"),
                service.get(f"/api/ncrs/{n + 1}/"),
                service.post("/api/ncrs/", {"title": f"During the outage {n}"}),
                service.get("/api/sync/logs/"),
            ]
        ready = requests.get(service.url + "/readyz", timeout=30)
    finally:
        postgres_cluster.start()
    wait_for(lambda: service.get("/api/ncrs/").status_code == 200, timeout=30)
    created = service.post("/api/ncrs/", {"title": "After the outage"})

    for response in answers:
        _assert_unavailable(response)
    assert ready.status_code == 503 and ready.json()["checks"]["database"]["ok"] is False
    assert created.status_code == 201
    log = _log_since(service.web_log, log_start)
    assert "Traceback" not in log and " ERROR " not in log, log
    assert 1 <= log.count("database unavailable (OperationalError") <= 2, log  # per process
    assert log.count("database available again") >= 1


@pytest.fixture
def slow_erp() -> Iterator[FakeERP]:
    """A REST API whose every listing takes 0.3 s, so the test can stop the database mid-run."""
    with FakeERP.running() as erp:
        erp.pagination = "page"
        erp.max_page_size = BATCH
        erp.add(
            *(
                {"id": f"EQ-{n:03d}", "name": f"Gauge {n}", "updated_at": n}
                for n in range(1, ITEMS + 1)
            )
        )
        listing = erp.listing

        def slow_listing(query: dict[str, str]):
            time.sleep(0.3)
            return listing(query)

        erp.listing = slow_listing  # type: ignore[method-assign]
        yield erp


CONFIGURE = """
from sync import services
connection = services.connection_create(
    name="ERP API", kind="rest", base_url={base_url!r}, auth_type="none",
    options={{"items_path": "items", "pagination": {{"type": "page"}}}},
)
config = services.configuration_create(
    name="ERP equipment API", system_type="ERP", connection=connection, entity_type="equipment",
    sync_type="full", remote_object={resource!r}, remote_key="id", batch_size={batch},
    max_retries=2, field_mappings=[{{"local": "name", "remote": "name"}}],
)
print(config.pk)
"""


def _run_row(cluster, run_id: int) -> dict | None:
    """The run as the database has it, or None while the database cannot be reached."""
    try:
        with psycopg.connect(cluster.url(DATABASE), connect_timeout=2) as db:
            row = db.execute(
                "SELECT status, error, processed, finished_at FROM sync_syncrun WHERE id = %s",
                (run_id,),
            ).fetchone()
            equipment = db.execute("SELECT count(*) FROM quality_equipment").fetchone()[0]
    except psycopg.OperationalError:
        return None
    status, error, processed, finished_at = row
    return {
        "status": status,
        "error": error,
        "processed": processed,
        "finished_at": finished_at,
        "equipment": equipment,
    }


def test_a_sync_run_that_loses_the_database_ends_failed_with_the_cause_once_it_is_back(
    service, postgres_cluster, slow_erp
):
    script = CONFIGURE.format(base_url=slow_erp.base_url, resource=RESOURCE[1:], batch=BATCH)
    config_id = int(service.manage("shell", "-c", script).strip().splitlines()[-1])
    worker_log_start = len(service.worker_log.read_text())
    queued = service.post(f"/api/sync/configurations/{config_id}/execute/", {})
    assert queued.status_code == 202, queued.text
    run_id = queued.json()["run_id"]
    wait_for(lambda: (_run_row(postgres_cluster, run_id) or {}).get("processed", 0) >= 2 * BATCH)

    postgres_cluster.stop()
    time.sleep(3)  # the outage lasts three seconds
    postgres_cluster.start()
    back = time.monotonic()
    wait_for(lambda: (_run_row(postgres_cluster, run_id) or {}).get("status") != "in_progress")
    ended_after = time.monotonic() - back
    lost = _run_row(postgres_cluster, run_id)
    retry = service.post(f"/api/sync/configurations/{config_id}/execute/", {})
    wait_for(
        lambda: (
            (_run_row(postgres_cluster, retry.json()["run_id"]) or {}).get("status") == "success"
        ),
        timeout=60,
    )
    done = _run_row(postgres_cluster, retry.json()["run_id"])

    assert lost["status"] == "failed"
    assert lost["error"].startswith("Database error during the run: OperationalError: "), lost
    assert "could not be reached for" in lost["error"]
    assert ended_after < 5  # as soon as it was back, not when a lease ran out
    assert lost["processed"] == lost["equipment"] > 0  # committed batches only
    assert retry.status_code == 202  # not refused as "already running"
    assert done["equipment"] == ITEMS
    log = _log_since(service.worker_log, worker_log_start)
    assert "Traceback" not in log, log
    assert log.count("database unavailable") == 1, log
