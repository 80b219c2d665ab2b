"""Periodic tasks in the admin: the service's own sweepers cannot be edited, paused or deleted
there; the schedules of sync configurations stay visible and pausable."""

from __future__ import annotations

import html
import json

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


def beat_trail(object_type: str) -> list[tuple[str, dict]]:
    from audit.models import AuditEvent

    events = AuditEvent.objects.filter(object_type=object_type).order_by("id")
    return [(e.action, e.changes) for e in events]


def admin_events(object_type: str):
    from audit.models import AuditEvent

    return list(AuditEvent.objects.filter(object_type=object_type).order_by("id"))


def inline_rows(schedule, field: str) -> dict:
    """The read-only inline of the periodic tasks on a schedule, as its change form posts it."""
    on_it = PeriodicTask.objects.filter(**{field: schedule}) if schedule is not None else None
    tasks = list(on_it.order_by("pk")) if on_it is not None else []
    data = {
        "periodictask_set-TOTAL_FORMS": str(len(tasks)),
        "periodictask_set-INITIAL_FORMS": str(len(tasks)),
    }
    for i, task in enumerate(tasks):
        data[f"periodictask_set-{i}-id"] = str(task.pk)
        data[f"periodictask_set-{i}-{field}"] = str(schedule.pk)
    return data


SCHEDULE_FORMS = [
    ("intervalschedule", {"every": "10", "period": "minutes"}, "beat_interval"),
    (
        "crontabschedule",
        {
            "minute": "30",
            "hour": "6",
            "day_of_month": "*",
            "month_of_year": "*",
            "day_of_week": "1-5",
            "timezone": "UTC",
        },
        "beat_crontab",
    ),
    (
        "solarschedule",
        {"event": "sunrise", "latitude": "52.520008", "longitude": "13.404954"},
        "beat_solar",
    ),
    (
        "clockedschedule",
        {"clocked_time_0": "2027-01-02", "clocked_time_1": "03:04:05"},
        "beat_clocked",
    ),
]


@pytest.mark.parametrize(("page", "form", "object_type"), SCHEDULE_FORMS)
def test_a_beat_schedule_created_in_the_admin_is_in_the_audit_trail_with_its_values(
    admin_client, page, form, object_type
):
    response = admin_client.post(
        f"/admin/django_celery_beat/{page}/add/", {**form, **inline_rows(None, "interval")}
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    (event,) = admin_events(object_type)
    assert (event.action, event.channel, event.actor_type, event.actor_name) == (
        "created",
        "admin",
        "user",
        "boss",
    )
    assert set(event.changes) == {name.split("_0")[0] for name in form if not name.endswith("_1")}
    assert all(old is None for old, _ in event.changes.values())


def test_an_interval_changed_and_deleted_in_the_admin_is_recorded_old_to_new(admin_client):
    from django_celery_beat.models import IntervalSchedule

    interval = IntervalSchedule.objects.create(every=10, period="minutes")
    url = f"/admin/django_celery_beat/intervalschedule/{interval.pk}/"

    changed = admin_client.post(
        f"{url}change/", {"every": "2", "period": "hours", **inline_rows(interval, "interval")}
    )
    unchanged = admin_client.post(
        f"{url}change/", {"every": "2", "period": "hours", **inline_rows(interval, "interval")}
    )
    history = admin_client.get(f"{url}history/").content.decode()
    deleted = admin_client.post(f"{url}delete/", {"post": "yes"})

    assert (changed.status_code, unchanged.status_code, deleted.status_code) == (302, 302, 302)
    assert "&quot;minutes&quot;" in history and "&quot;hours&quot;" in history
    assert beat_trail("beat_interval") == [
        ("updated", {"every": [10, 2], "period": ["minutes", "hours"]}),
        ("deleted", {"every": [2, None], "period": ["hours", None]}),
    ]
    assert {e.object_id for e in admin_events("beat_interval")} == {str(interval.pk)}
    assert {e.object_repr for e in admin_events("beat_interval")} == {"every 2 hours"}


def test_retiming_the_interval_a_configuration_runs_on_records_its_schedule_change_too(
    admin_client, scheduled
):
    interval = scheduled.interval

    response = admin_client.post(
        f"/admin/django_celery_beat/intervalschedule/{interval.pk}/change/",
        {"every": "5", "period": "minutes", **inline_rows(interval, "interval")},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert beat_trail("beat_interval") == [("updated", {"every": [15, 5]})]
    (schedule_event,) = [e for e in admin_events("sync_schedule") if e.channel == "admin"]
    assert (schedule_event.action, schedule_event.changes, schedule_event.actor_name) == (
        "updated",
        {"schedule": ["every 15 minutes", "every 5 minutes"]},
        "boss",
    )


def test_deleting_a_crontab_records_the_periodic_tasks_it_took_with_it(admin_client, scheduled):
    from django_celery_beat.models import CrontabSchedule

    crontab = CrontabSchedule.objects.create(minute="0", hour="3", timezone="UTC")
    custom = PeriodicTask.objects.create(
        name="nightly report", task="reports.nightly", crontab=crontab
    )

    response = admin_client.post(
        f"/admin/django_celery_beat/crontabschedule/{crontab.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 302
    assert not PeriodicTask.objects.filter(pk=custom.pk).exists()
    assert [action for action, _ in beat_trail("beat_crontab")] == ["deleted"]
    ((action, changes),) = beat_trail("beat_task")
    assert action == "deleted"
    assert changes["name"] == ["nightly report", None]
    assert changes["crontab"] == [crontab.pk, None]


def test_a_periodic_task_of_no_configuration_is_audited_when_added_paused_and_deleted(
    admin_client,
):
    from django_celery_beat.models import IntervalSchedule

    interval = IntervalSchedule.objects.create(every=1, period="hours")
    added = admin_client.post(
        "/admin/django_celery_beat/periodictask/add/",
        {
            "name": "hourly export",
            "regtask": "webhooks.tasks.sweep_webhook_deliveries",
            "interval": str(interval.pk),
            "args": "[]",
            "kwargs": '{"days": 7, "key": "eqms_abcdefghijkl_s3cretS3cretS3cret"}',
            "enabled": "on",
            "headers": "{}",
        },
    )
    task = PeriodicTask.objects.get(name="hourly export")
    paused = admin_client.post(
        "/admin/django_celery_beat/periodictask/",
        {"action": "disable_tasks", "_selected_action": [task.pk]},
    )
    deleted = admin_client.post(
        f"/admin/django_celery_beat/periodictask/{task.pk}/delete/", {"post": "yes"}
    )

    assert (added.status_code, paused.status_code, deleted.status_code) == (302, 302, 302)
    trail = beat_trail("beat_task")
    assert [action for action, _ in trail] == ["created", "updated", "deleted"]
    assert trail[0][1]["task"] == [None, "webhooks.tasks.sweep_webhook_deliveries"]
    assert trail[0][1]["interval"] == [None, interval.pk]
    assert trail[1][1] == {"enabled": [True, False]}
    assert "s3cretS3cret" not in json.dumps(trail)  # a key-shaped argument is masked
    assert "days" in trail[0][1]["kwargs"][1]
    assert trail[2][1]["name"] == ["hourly export", None]
    assert {e.actor_name for e in admin_events("beat_task")} == {"boss"}


def test_running_selected_tasks_records_one_started_event_each_and_sends_them_with_its_id(
    admin_client, beat_entries, scheduled, django_capture_on_commit_callbacks, monkeypatch
):
    app.loader.import_default_modules()  # the tasks registered, as the action has them
    sent = []
    for name in {beat_entries.task, scheduled.task}:
        monkeypatch.setattr(
            app.tasks[name], "apply_async", lambda name=name, **kw: sent.append((name, kw))
        )

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/django_celery_beat/periodictask/",
            {"action": "run_tasks", "_selected_action": [beat_entries.pk, scheduled.pk]},
            follow=True,
        )

    assert "2 tasks sent to the workers." in response.content.decode()
    events = admin_events("beat_task")
    assert sorted((e.action, e.channel, e.actor_name, e.object_repr) for e in events) == [
        ("started", "admin", "boss", scheduled.name),
        ("started", "admin", "boss", "sync-sweep-runs"),
    ]
    assert {e.object_id: e.changes["task"] for e in events}[str(scheduled.pk)] == [
        None,
        "sync.scheduled_run",
    ]
    assert sorted(kw["task_id"] for _, kw in sent) == sorted(
        e.changes["task_id"][1] for e in events
    )
    scheduled_call = next(kw for name, kw in sent if name == "sync.scheduled_run")
    assert scheduled_call["args"] == json.loads(scheduled.args)
    assert scheduled_call["headers"] == {"periodic_task_name": scheduled.name}


def test_a_task_that_is_not_registered_is_not_run_and_nothing_is_recorded(admin_client):
    from django_celery_beat.models import IntervalSchedule

    hourly = IntervalSchedule.objects.create(every=1, period="hours")
    task = PeriodicTask.objects.create(name="gone", task="no.such.task", interval=hourly)

    response = admin_client.post(
        "/admin/django_celery_beat/periodictask/",
        {"action": "run_tasks", "_selected_action": [task.pk]},
        follow=True,
    )

    assert 'Nothing run: task "no.such.task" not found.' in html.unescape(response.content.decode())
    assert admin_events("beat_task") == []


@pytest.fixture
def auditor_client(client, make_user):
    auditor = make_user("auditor", role="Auditor")
    auditor.is_staff = True
    auditor.save(update_fields=["is_staff"])
    client.login(username="auditor", password="pw-12345678")
    return client


def test_a_person_who_may_only_view_periodic_tasks_cannot_run_them(
    auditor_client, scheduled, django_capture_on_commit_callbacks
):
    client = auditor_client

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        listing = client.get("/admin/django_celery_beat/periodictask/").content.decode()
        client.post(
            "/admin/django_celery_beat/periodictask/",
            {"action": "run_tasks", "_selected_action": [scheduled.pk]},
        )

    assert "Select periodic task to view" in listing and 'value="run_tasks"' not in listing
    assert callbacks == [] and admin_events("beat_task") == []


def test_a_person_who_may_only_view_periodic_tasks_cannot_pause_or_toggle_them(
    auditor_client, scheduled
):
    changelist = "/admin/django_celery_beat/periodictask/"

    listing = auditor_client.get(changelist).content.decode()
    for action in ("disable_tasks", "toggle_tasks", "enable_tasks"):
        auditor_client.post(changelist, {"action": action, "_selected_action": [scheduled.pk]})

    scheduled.refresh_from_db()
    assert scheduled.enabled
    assert 'value="disable_tasks"' not in listing and 'value="toggle_tasks"' not in listing
    assert [e for e in admin_events("sync_schedule") if e.channel == "admin"] == []


def test_the_bulk_actions_keep_their_descriptions(admin_client, scheduled):
    listing = admin_client.get("/admin/django_celery_beat/periodictask/").content.decode()

    for label in (
        "Enable selected tasks",
        "Disable selected tasks",
        "Toggle activity of selected tasks",
        "Run selected tasks",
    ):
        assert label in listing


def test_the_schedule_of_an_internal_sweeper_is_read_only_too(admin_client, beat_entries):
    interval = beat_entries.interval
    url = f"/admin/django_celery_beat/intervalschedule/{interval.pk}/"

    page = admin_client.get(f"{url}change/")
    posted = admin_client.post(
        f"{url}change/", {"every": "1", "period": "days", **inline_rows(interval, "interval")}
    )
    deleted = admin_client.post(f"{url}delete/", {"post": "yes"})
    bulk = admin_client.post(
        "/admin/django_celery_beat/intervalschedule/",
        {"action": "delete_selected", "_selected_action": [interval.pk], "post": "yes"},
    )

    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert (posted.status_code, deleted.status_code, bulk.status_code) == (403, 403, 403)
    assert PeriodicTask.objects.filter(pk=beat_entries.pk).exists()
    interval.refresh_from_db()
    assert (interval.every, interval.period) != (1, "days")
    assert admin_events("beat_interval") == [] and admin_events("beat_task") == []


def task_form(task: PeriodicTask, **overrides) -> dict:
    """A periodic task's change form as the admin posts it back, with `overrides`."""
    data = {
        "name": task.name,
        "task": task.task,
        "enabled": "on" if task.enabled else "",
        "description": task.description,
        "interval": str(task.interval_id or ""),
        "args": task.args,
        "kwargs": task.kwargs,
        "headers": task.headers,
        "queue": task.queue or "",
    }
    return {k: v for k, v in {**data, **overrides}.items() if v != ""}


def test_an_edit_of_a_configuration_entry_beyond_its_schedule_is_a_beat_task_event(
    admin_client, scheduled
):
    url = f"/admin/django_celery_beat/periodictask/{scheduled.pk}/change/"

    requeued = admin_client.post(url, task_form(scheduled, queue="slow"))
    paused = admin_client.post(
        url, task_form(PeriodicTask.objects.get(pk=scheduled.pk), enabled="")
    )

    assert (requeued.status_code, paused.status_code) == (302, 302)
    assert beat_trail("beat_task") == [("updated", {"queue": [None, "slow"]})]
    schedule_events = [e for e in admin_events("sync_schedule") if e.channel == "admin"]
    assert [(e.action, e.changes) for e in schedule_events] == [
        ("updated", {"enabled": [True, False]})
    ]
    assert {e.actor_name for e in admin_events("beat_task") + schedule_events} == {"boss"}


def test_the_history_page_of_a_periodic_task_shows_its_beat_task_events(admin_client):
    from django_celery_beat.models import IntervalSchedule

    hourly = IntervalSchedule.objects.create(every=1, period="hours")
    task = PeriodicTask.objects.create(name="nightly export", task="reports.x", interval=hourly)
    admin_client.post(
        "/admin/django_celery_beat/periodictask/",
        {"action": "disable_tasks", "_selected_action": [task.pk]},
    )

    page = admin_client.get(f"/admin/django_celery_beat/periodictask/{task.pk}/history/")

    (event,) = admin_events("beat_task")
    assert page.status_code == 200
    assert f"/admin/audit/auditevent/{event.pk}/change/" in page.content.decode()


@pytest.mark.parametrize(("page", "form", "object_type"), SCHEDULE_FORMS)
def test_the_history_page_of_each_beat_schedule_lists_its_events(
    admin_client, page, form, object_type
):
    admin_client.post(
        f"/admin/django_celery_beat/{page}/add/", {**form, **inline_rows(None, "interval")}
    )
    (event,) = admin_events(object_type)

    history = admin_client.get(f"/admin/django_celery_beat/{page}/{event.object_id}/history/")

    assert history.status_code == 200
    assert f"/admin/audit/auditevent/{event.pk}/change/" in history.content.decode()


def test_a_task_the_broker_does_not_take_is_reported_and_not_recorded_as_started(
    admin_client, beat_entries, scheduled, monkeypatch
):
    from kombu.exceptions import OperationalError

    def refused(**kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    app.loader.import_default_modules()  # the tasks registered, as the action has them
    sent = []
    monkeypatch.setattr(app.tasks[beat_entries.task], "apply_async", lambda **kw: sent.append(kw))
    monkeypatch.setattr(app.tasks[scheduled.task], "apply_async", refused)

    response = admin_client.post(
        "/admin/django_celery_beat/periodictask/",
        {"action": "run_tasks", "_selected_action": [beat_entries.pk, scheduled.pk]},
        follow=True,
    )

    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert f"Not sent, and not recorded: {scheduled.name} (the broker could not" in page
    assert "6379" not in page  # the cause is logged, not shown
    (event,) = admin_events("beat_task")
    assert (event.action, event.object_repr) == ("started", beat_entries.name)
    assert [kw["task_id"] for kw in sent] == [event.changes["task_id"][1]]


def test_a_periodic_task_argument_or_header_named_as_a_secret_is_masked_in_its_events(
    admin_client,
):
    from django_celery_beat.models import IntervalSchedule

    hourly = IntervalSchedule.objects.create(every=1, period="hours")
    form = {
        "name": "export to the archive",
        "regtask": "webhooks.tasks.sweep_webhook_deliveries",
        "interval": str(hourly.pk),
        "args": "[]",
        "kwargs": '{"days": 7, "smtp": {"password": "hunter2-first"}, "api_token": "tok-1"}',
        "headers": '{"Authorization": "Bearer abc.def"}',
        "enabled": "on",
    }
    added = admin_client.post("/admin/django_celery_beat/periodictask/add/", form)
    task = PeriodicTask.objects.get(name="export to the archive")
    changed = admin_client.post(
        f"/admin/django_celery_beat/periodictask/{task.pk}/change/",
        {**form, "kwargs": form["kwargs"].replace("hunter2-first", "hunter2-second")},
    )

    assert (added.status_code, changed.status_code) == (302, 302)
    trail = json.dumps(beat_trail("beat_task"))
    for secret in ("hunter2", "tok-1", "abc.def"):
        assert secret not in trail
    (created, updated) = beat_trail("beat_task")
    assert json.loads(created[1]["kwargs"][1]) == {
        "days": 7,
        "smtp": {"password": "[secret]"},
        "api_token": "[secret]",
    }
    assert json.loads(created[1]["headers"][1]) == {"Authorization": "[secret]"}
    assert updated == ("updated", {"kwargs": [created[1]["kwargs"][1]] * 2})


def test_schedules_deleted_with_the_bulk_action_are_recorded_with_the_tasks_they_took(
    admin_client, scheduled
):
    from django_celery_beat.models import IntervalSchedule

    spare = IntervalSchedule.objects.create(every=7, period="days")
    interval = scheduled.interval

    response = admin_client.post(
        "/admin/django_celery_beat/intervalschedule/",
        {"action": "delete_selected", "_selected_action": [interval.pk, spare.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert not IntervalSchedule.objects.filter(pk__in=[interval.pk, spare.pk]).exists()
    assert sorted(e.object_id for e in admin_events("beat_interval")) == sorted(
        [str(interval.pk), str(spare.pk)]
    )
    assert {e.action for e in admin_events("beat_interval")} == {"deleted"}
    (schedule_event,) = [e for e in admin_events("sync_schedule") if e.channel == "admin"]
    assert schedule_event.action == "deleted"


SCHEDULE_ROWS = {
    "intervalschedule": {"every": 3, "period": "hours"},
    "crontabschedule": {"minute": "0", "hour": "4", "timezone": "UTC"},
    "solarschedule": {"event": "sunset", "latitude": 1, "longitude": 2},
    "clockedschedule": {"clocked_time": "2027-01-01T00:00:00Z"},
}


@pytest.mark.parametrize("role", ["Manager", "Auditor"])
@pytest.mark.parametrize(("page", "form", "object_type"), SCHEDULE_FORMS)
def test_a_role_that_views_beat_schedules_cannot_add_change_or_delete_them(
    client, make_user, role, page, form, object_type
):
    from django.apps import apps

    viewer = make_user("viewer", role=role)
    viewer.is_staff = True
    viewer.save(update_fields=["is_staff"])
    client.login(username="viewer", password="pw-12345678")
    model = apps.get_model("django_celery_beat", page)
    schedule = model.objects.create(**SCHEDULE_ROWS[page])
    base = f"/admin/django_celery_beat/{page}/"
    posted = {**form, **inline_rows(None, "interval")}

    seen = client.get(f"{base}{schedule.pk}/change/")
    statuses = [
        client.post(f"{base}add/", posted).status_code,
        client.post(f"{base}{schedule.pk}/change/", posted).status_code,
        client.post(f"{base}{schedule.pk}/delete/", {"post": "yes"}).status_code,
    ]
    client.post(
        base, {"action": "delete_selected", "_selected_action": [schedule.pk], "post": "yes"}
    )

    assert seen.status_code == 200 and 'name="_save"' not in seen.content.decode()
    assert statuses == [403, 403, 403]
    assert list(model.objects.values_list("pk", flat=True)) == [schedule.pk]
    assert admin_events(object_type) == []


def test_with_tasks_run_eagerly_a_task_run_from_the_admin_runs_once_its_event_is_committed(
    admin_client, scheduled, django_capture_on_commit_callbacks, monkeypatch
):
    app.loader.import_default_modules()  # the tasks registered, as the action has them
    sent = []
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    monkeypatch.setattr(app.tasks[scheduled.task], "apply_async", lambda **kw: sent.append(kw))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        admin_client.post(
            "/admin/django_celery_beat/periodictask/",
            {"action": "run_tasks", "_selected_action": [scheduled.pk]},
        )
        pending = list(sent)
    for callback in callbacks:
        callback()

    (event,) = admin_events("beat_task")
    assert pending == []  # not inside the transaction of the event (and of the request)
    assert [kw["task_id"] for kw in sent] == [event.changes["task_id"][1]]
