from __future__ import annotations

from celery import shared_task
from django.core.exceptions import ValidationError

from eqms_integration.outages import outage_tolerant
from sync.models import SyncConfiguration
from sync.services.runs import run_claim, run_execute, run_request, runs_sweep


@shared_task(name="sync.execute_run", ignore_result=True)
@outage_tolerant  # a claim that meets no database leaves the run queued for the sweeper
def execute_sync_run(run_id: int) -> str:
    """Run a queued sync run; a duplicate message finds it claimed and does nothing."""
    run = run_claim(run_id)
    if run is None:
        return "not claimed"
    return run_execute(run=run).status


@shared_task(name="sync.sweep_runs", ignore_result=True)
@outage_tolerant
def sweep_sync_runs() -> dict[str, int]:
    return runs_sweep()


@shared_task(name="sync.scheduled_run", ignore_result=True)
@outage_tolerant
def scheduled_sync_run(config_id: int) -> str:
    """Beat's entry point for interval and cron schedules: queue a run unless one is active."""
    config = SyncConfiguration.objects.filter(pk=config_id).first()
    if config is None:
        return "configuration gone"
    try:
        return f"queued run {run_request(config=config, trigger='schedule').pk}"
    except ValidationError as exc:
        return "skipped: " + "; ".join(exc.messages)
