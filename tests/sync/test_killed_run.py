"""A `run_sync` process killed (SIGKILL) in the middle of a run loses nothing and duplicates
nothing: the batches it committed stay, the sweeper ends the run once its lease has passed,
and the next run resumes after the last committed batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from quality.models import Equipment
from sync.models import SyncRun
from sync.services.runs import runs_sweep
from tests.conftest import database_url_for_subprocess
from tests.sync.test_engine import configure, rows, run
from tests.webhooks.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]
TOTAL = 10_000


def start_run_sync(config_id: int, tmp_path: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")}
    env.update(
        {
            "DATABASE_URL": database_url_for_subprocess(),
            "EQMS_VAR_DIR": str(tmp_path / "var"),
            "CACHE_URL": "locmemcache://",
            "PYTHONPATH": str(ROOT),
            # The ERP the test plays: a SQLite file in tmp_path, or a 127.0.0.1 server.
            "SYNC_SQLITE_DIRS": str(tmp_path),
            "SYNC_ALLOWED_NETWORKS": "127.0.0.1/32",
        }
    )
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "run_sync", str(config_id)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@pytest.mark.django_db(transaction=True)
def test_a_run_killed_mid_way_is_resumed_by_the_next_run_with_nothing_lost_or_twice(
    source, tmp_path
):
    source.insert(rows(TOTAL))
    config = configure(source, batch_size=100)

    process = start_run_sync(config.pk, tmp_path)
    try:
        wait_for(lambda: Equipment.objects.count() >= 500, timeout=60)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    committed = Equipment.objects.count()
    killed = SyncRun.objects.get()
    assert killed.status == "in_progress" and 0 < committed < TOTAL
    assert committed % 100 == 0  # whole batches only

    SyncRun.objects.filter(pk=killed.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    runs_sweep()  # its worker is gone: the lease has passed
    resumed = run(config)

    assert SyncRun.objects.get(pk=killed.pk).status == "failed"
    assert (resumed.status, resumed.processed, resumed.created) == (
        "success",
        TOTAL - committed,
        TOTAL - committed,
    )
    numbers = list(Equipment.objects.values_list("number", flat=True))
    assert len(numbers) == len(set(numbers)) == TOTAL
