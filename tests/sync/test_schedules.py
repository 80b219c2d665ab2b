"""Interval and cron schedules live as django-celery-beat entries that follow the configuration."""

from __future__ import annotations

import json

import pytest
from django_celery_beat.models import PeriodicTask

from sync.models import SyncRun
from sync.services import configuration_set_enabled, configuration_update
from sync.tasks import scheduled_sync_run
from tests.sync.sources import SQLiteSource
from tests.sync.test_engine import configure

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(tmp_path):
    src = SQLiteSource(tmp_path)
    src.create()
    return src


def test_a_cron_configuration_gets_a_beat_entry_and_a_next_run_time(source, admin_api):
    config = configure(source, schedule_type="cron", cron_expression="30 6 * * 1-5")

    task = PeriodicTask.objects.get(name=f"sync configuration {config.pk}")
    status = admin_api.get(f"/api/sync/configurations/{config.pk}/status/").json()

    assert (task.task, json.loads(task.args), task.enabled) == (
        "sync.scheduled_run",
        [config.pk],
        True,
    )
    cron = task.crontab
    assert (cron.minute, cron.hour, cron.day_of_week) == ("30", "6", "1-5")
    assert status["next_run_at"] is not None


def test_changing_the_schedule_updates_the_entry_and_manual_removes_it(source):
    config = configure(source, schedule_type="interval", interval_minutes=15)
    assert PeriodicTask.objects.get().interval.every == 15

    configuration_update(config=config, data={"interval_minutes": 5})
    assert PeriodicTask.objects.get().interval.every == 5
    configuration_set_enabled(config=config, enabled=False)
    assert PeriodicTask.objects.get().enabled is False
    configuration_update(config=config, data={"schedule_type": "manual"})

    assert not PeriodicTask.objects.exists()


def test_deleting_a_configuration_removes_its_schedule(source, admin_api):
    config = configure(source, schedule_type="interval", interval_minutes=10)

    response = admin_api.delete(f"/api/sync/configurations/{config.pk}/")

    assert response.status_code == 204
    assert not PeriodicTask.objects.exists()


def test_the_scheduled_task_queues_a_run_unless_one_is_active(
    source, django_capture_on_commit_callbacks
):
    config = configure(source, schedule_type="interval", interval_minutes=10)

    with django_capture_on_commit_callbacks(execute=False):
        first = scheduled_sync_run(config.pk)
        second = scheduled_sync_run(config.pk)

    assert first.startswith("queued run") and second.startswith("skipped")
    assert SyncRun.objects.get().trigger == "schedule"
    assert scheduled_sync_run(999999) == "configuration gone"
