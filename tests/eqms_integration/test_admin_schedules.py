"""Periodic tasks in the admin: the service's own sweepers cannot be edited, paused or deleted
there; the schedules of sync configurations stay visible and pausable."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from eqms_integration.celery import app
from tests.sync.sources import SQLiteSource
from tests.sync.test_engine import configure, rows

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sync_test_systems")]


@pytest.fixture
def admin_client(client):
    get_user_model().objects.create_superuser("boss", password="pw-12345678")
    client.login(username="boss", password="pw-12345678")
    return client


@pytest.fixture
def beat_entries():
    """The rows beat writes from CELERY_BEAT_SCHEDULE when it starts."""
    for name, entry in app.conf.beat_schedule.items():  # as DatabaseScheduler.setup_schedule
        DatabaseScheduler.Entry.from_entry(name, app=app, **entry)
    return PeriodicTask.objects.get(name="sync-sweep-runs")


@pytest.fixture
def scheduled(tmp_path):
    source = SQLiteSource(tmp_path)
    source.create()
    source.insert(rows(1))
    configure(source, schedule_type="interval", interval_minutes=15)
    return PeriodicTask.objects.get(task="sync.scheduled_run")


def test_an_internal_sweeper_is_shown_read_only_and_cannot_be_changed(admin_client, beat_entries):
    url = f"/admin/django_celery_beat/periodictask/{beat_entries.pk}/change/"

    page = admin_client.get(url)
    posted = admin_client.post(
        url, {"name": "sync-sweep-runs", "task": "sync.sweep_runs", "enabled": ""}
    )
    deleted = admin_client.post(
        f"/admin/django_celery_beat/periodictask/{beat_entries.pk}/delete/", {"post": "yes"}
    )

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()  # a view-only page
    assert posted.status_code == 403 and deleted.status_code == 403
    beat_entries.refresh_from_db()
    assert beat_entries.enabled


def test_bulk_actions_leave_internal_tasks_alone_and_pause_configuration_schedules(
    admin_client, beat_entries, scheduled
):
    listing = admin_client.get("/admin/django_celery_beat/periodictask/").content.decode()
    response = admin_client.post(
        "/admin/django_celery_beat/periodictask/",
        {"action": "disable_tasks", "_selected_action": [beat_entries.pk, scheduled.pk]},
        follow=True,
    )

    assert "sync configuration" in listing and "its sync configuration" in listing
    assert "the service (settings; read-only)" in listing
    assert "Left alone (internal tasks of the service): sync-sweep-runs." in (
        response.content.decode()
    )
    beat_entries.refresh_from_db()
    scheduled.refresh_from_db()
    assert beat_entries.enabled and not scheduled.enabled


def test_a_configuration_schedule_stays_editable(admin_client, scheduled):
    page = admin_client.get(f"/admin/django_celery_beat/periodictask/{scheduled.pk}/change/")

    assert 'name="_save"' in page.content.decode()


def test_a_configuration_schedule_paused_changed_or_deleted_in_the_beat_admin_is_audited(
    admin_client, scheduled
):
    from audit.models import AuditEvent

    def trail() -> list[tuple[str, dict]]:
        events = AuditEvent.objects.filter(object_type="sync_schedule").order_by("id")
        return [(e.action, e.changes) for e in events if e.channel == "admin"]

    paused = admin_client.post(
        "/admin/django_celery_beat/periodictask/",
        {"action": "disable_tasks", "_selected_action": [scheduled.pk]},
    )
    deleted = admin_client.post(
        f"/admin/django_celery_beat/periodictask/{scheduled.pk}/delete/", {"post": "yes"}
    )

    assert paused.status_code == 302 and deleted.status_code == 302
    assert not PeriodicTask.objects.filter(pk=scheduled.pk).exists()
    assert trail() == [
        ("updated", {"enabled": [True, False]}),
        ("deleted", {"enabled": [False, None], "schedule": ["every 15 minutes", None]}),
    ]
