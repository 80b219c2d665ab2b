from __future__ import annotations

from celery import shared_task

from sync.engine.runner import execute
from sync.services.runs import run_claim, runs_sweep


@shared_task(name="sync.execute_run", ignore_result=True)
def execute_sync_run(run_id: int) -> str:
    """Run a queued sync run; a duplicate message finds it claimed and does nothing."""
    run = run_claim(run_id)
    if run is None:
        return "not claimed"
    return execute(run).status


@shared_task(name="sync.sweep_runs", ignore_result=True)
def sweep_sync_runs() -> dict[str, int]:
    return runs_sweep()
