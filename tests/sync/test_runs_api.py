"""Runs through the REST API and the worker task: execute, follow, preview, cancel, retry, and
the sweeper that keeps runs from being lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from quality.models import Equipment
from sync.models import SyncRun
from sync.services.runs import runs_sweep
from sync.tasks import execute_sync_run
from tests.sync.sources import SQLiteSource
from tests.sync.test_engine import configure, rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def config(tmp_path):
    source = SQLiteSource(tmp_path)
    source.create()
    source.insert(rows(5))
    return configure(source)


def execute(api, config, capture, **body):
    with capture(execute=False) as callbacks:
        response = api.post(f"/api/sync/configurations/{config.pk}/execute/", body, format="json")
    return response, callbacks


def test_execute_queues_a_run_that_a_worker_carries_out(
    admin_api, config, django_capture_on_commit_callbacks
):
    response, callbacks = execute(admin_api, config, django_capture_on_commit_callbacks)

    assert response.status_code == 202
    run_id = response.json()["run_id"]
    assert response.json()["status"] == "queued" and len(callbacks) == 1
    assert execute_sync_run(run_id) == "success"  # what the worker does with the message
    assert execute_sync_run(run_id) == "not claimed"  # a duplicate message changes nothing
    detail = admin_api.get(f"/api/sync/logs/{run_id}/").json()
    assert (detail["status"], detail["processed"], detail["created"]) == ("success", 5, 5)
    assert detail["duration_ms"] is not None and detail["row_errors"] == []
    assert Equipment.objects.count() == 5


def test_a_second_execute_while_one_is_queued_is_refused(
    admin_api, config, django_capture_on_commit_callbacks
):
    execute(admin_api, config, django_capture_on_commit_callbacks)

    second, _ = execute(admin_api, config, django_capture_on_commit_callbacks)

    assert second.status_code == 400
    assert "already running" in second.json()["errors"]["non_field_errors"][0]


def test_the_delta_preview_shows_a_row_that_cannot_be_mapped_with_its_reason_beside_the_others(
    admin_api, tmp_path
):
    source = SQLiteSource(tmp_path)
    source.create()
    source.insert([*rows(1), ("EQ-00002", "Gauge 2", "Z", "2027-03-01", rows(2)[1][4])])
    config = configure(source)

    preview = admin_api.get(f"/api/sync/configurations/{config.pk}/delta/").json()

    good, bad = preview["rows"]
    assert good["values"]["status"] == "active" and "error" not in good
    assert bad["external_id"] == "EQ-00002" and "values" not in bad
    assert bad["error"].startswith("status: ")  # the transform's complaint, naming the field


def test_logs_status_and_delta_preview_describe_the_configuration(admin_api, config):
    preview = admin_api.get(f"/api/sync/configurations/{config.pk}/delta/?limit=2").json()
    run_id = SyncRun.objects.create(configuration=config, status="queued").pk
    execute_sync_run(run_id)
    after = admin_api.get(f"/api/sync/configurations/{config.pk}/delta/").json()
    status = admin_api.get(f"/api/sync/configurations/{config.pk}/status/").json()
    logs = admin_api.get(f"/api/sync/configurations/{config.pk}/logs/?status=success").json()

    assert preview["count"] == 5 and [r["external_id"] for r in preview["rows"]] == [
        "EQ-00001",
        "EQ-00002",
    ]
    assert preview["rows"][0]["values"]["status"] == "active"
    assert after["count"] == 0
    assert status["last_run"]["id"] == run_id and status["active_run"] is None
    assert status["cursor"]["key"] == "EQ-00005"
    assert [r["id"] for r in logs["results"]] == [run_id]


def test_a_queued_run_can_be_cancelled_and_then_never_starts(
    admin_api, config, django_capture_on_commit_callbacks
):
    response, _ = execute(admin_api, config, django_capture_on_commit_callbacks)
    run_id = response.json()["run_id"]

    cancelled = admin_api.post(f"/api/sync/logs/{run_id}/cancel/")
    again = admin_api.post(f"/api/sync/logs/{run_id}/cancel/")

    assert cancelled.json()["status"] == "cancelled"
    assert again.status_code == 400
    assert execute_sync_run(run_id) == "not claimed"
    assert not Equipment.objects.exists()


def test_a_failed_run_is_retried_on_request_and_by_the_sweeper_with_backoff(
    admin_api, config, django_capture_on_commit_callbacks
):
    failed = SyncRun.objects.create(
        configuration=config, status="failed", finished_at=timezone.now(), error="boom"
    )

    with django_capture_on_commit_callbacks(execute=False):
        manual = admin_api.post(f"/api/sync/logs/{failed.pk}/retry/")
    assert manual.status_code == 202 and manual.json()["attempt"] == 2
    SyncRun.objects.filter(pk=manual.json()["id"]).update(
        status="failed", finished_at=timezone.now()
    )

    with django_capture_on_commit_callbacks(execute=False):
        too_early = runs_sweep()
    SyncRun.objects.filter(pk=manual.json()["id"]).update(
        finished_at=timezone.now() - timedelta(minutes=5)
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        due = runs_sweep()

    assert too_early["retried"] == 0
    assert due["retried"] == 1 and len(callbacks) == 1
    assert SyncRun.objects.get(retry_of_id=manual.json()["id"]).attempt == 3


def test_retries_stop_at_max_retries(config, django_capture_on_commit_callbacks):
    config.max_retries = 1
    config.save()
    SyncRun.objects.create(
        configuration=config,
        status="failed",
        attempt=2,
        finished_at=timezone.now() - timedelta(days=1),
    )

    with django_capture_on_commit_callbacks(execute=False):
        assert runs_sweep()["retried"] == 0


def test_the_sweeper_resends_lost_queued_runs_and_times_out_dead_ones(
    config, django_capture_on_commit_callbacks
):
    lost = SyncRun.objects.create(configuration=config, status="queued")
    SyncRun.objects.filter(pk=lost.pk).update(queued_at=timezone.now() - timedelta(minutes=5))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = runs_sweep()
    assert first["requeued"] == 1 and len(callbacks) == 1
    now = timezone.now()
    SyncRun.objects.filter(pk=lost.pk).update(  # still beating, but past its hour
        status="in_progress", started_at=now - timedelta(hours=2), heartbeat_at=now
    )
    with django_capture_on_commit_callbacks(execute=False):
        second = runs_sweep()

    assert second["expired"] == 1
    assert SyncRun.objects.get(pk=lost.pk).status == "timeout"


def test_a_run_whose_worker_stopped_beating_is_failed_by_the_sweeper_and_retried_later(
    config, settings, django_capture_on_commit_callbacks
):
    settings.SYNC_RUN_LEASE_SECONDS = 60
    now = timezone.now()
    silent = SyncRun.objects.create(configuration=config, status="in_progress")
    SyncRun.objects.filter(pk=silent.pk).update(
        started_at=now - timedelta(minutes=5), heartbeat_at=now - timedelta(minutes=2)
    )

    with django_capture_on_commit_callbacks(execute=False):
        swept = runs_sweep()
    SyncRun.objects.filter(pk=silent.pk).update(finished_at=now - timedelta(minutes=2))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        later = runs_sweep()

    failed = SyncRun.objects.get(pk=silent.pk)
    assert swept["expired"] == 1 and failed.status == "failed"
    assert "no progress for 60 s" in failed.error
    assert later["retried"] == 1 and len(callbacks) == 1
    assert SyncRun.objects.get(retry_of=failed).status == "queued"


def test_who_may_execute(client_for, config, django_capture_on_commit_callbacks):
    from rest_framework.test import APIClient

    from apikeys.services import apikey_create

    executor, reader = APIClient(), APIClient()
    executor.credentials(HTTP_X_API_KEY=apikey_create(name="x", scopes=["sync:execute"]).key)
    reader.credentials(HTTP_X_API_KEY=apikey_create(name="r", scopes=["sync:read"]).key)

    assert (
        execute(client_for("Auditor"), config, django_capture_on_commit_callbacks)[0].status_code
        == 403
    )
    assert execute(reader, config, django_capture_on_commit_callbacks)[0].status_code == 403
    assert (
        execute(client_for("Manager"), config, django_capture_on_commit_callbacks)[0].status_code
        == 202
    )
    SyncRun.objects.update(status="cancelled")
    assert execute(executor, config, django_capture_on_commit_callbacks)[0].status_code == 202


def test_a_disabled_configuration_does_not_run(
    admin_api, config, django_capture_on_commit_callbacks
):
    config.enabled = False
    config.save()

    response, _ = execute(admin_api, config, django_capture_on_commit_callbacks)

    assert response.status_code == 400 and "disabled" in str(response.json())


def test_a_source_down_fails_the_run_clearly_and_a_later_retry_brings_everything_in(
    admin_api, django_capture_on_commit_callbacks
):
    from sync.models import Connection
    from tests.sync.sources import PostgresSource
    from tests.sync.test_engine import configure

    source = PostgresSource()
    source.create()
    try:
        source.insert(rows(4))
        config = configure(source)
        Connection.objects.filter(pk=config.connection_id).update(port=9, timeout_seconds=2)
        down, _ = execute(admin_api, config, django_capture_on_commit_callbacks)
        assert execute_sync_run(down.json()["run_id"]) == "failed"
        failed = admin_api.get(f"/api/sync/logs/{down.json()['run_id']}/").json()

        Connection.objects.filter(pk=config.connection_id).update(port=5432)  # back up
        SyncRun.objects.filter(pk=failed["id"]).update(
            finished_at=timezone.now() - timedelta(minutes=2)
        )
        with django_capture_on_commit_callbacks(execute=False):
            assert runs_sweep()["retried"] == 1
        retry = SyncRun.objects.get(retry_of_id=failed["id"])
        assert execute_sync_run(retry.pk) == "success"
    finally:
        source.drop()

    assert failed["status"] == "failed"
    assert failed["error"].startswith("OperationalError") and "port 9" in failed["error"]
    assert (retry.attempt, SyncRun.objects.get(pk=retry.pk).created) == (2, 4)
    assert Equipment.objects.count() == 4


def test_a_configurations_runs_filtered_by_an_unknown_status_is_a_400_listing_the_statuses(
    admin_api, config
):
    response = admin_api.get(f"/api/sync/configurations/{config.pk}/logs/?status=done")

    assert response.status_code == 400
    (message,) = response.json()["errors"]["status"]
    assert message.startswith(
        "One of queued, in_progress, success, success_with_conflicts, partial, failed"
    )
