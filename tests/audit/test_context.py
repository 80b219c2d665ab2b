"""Who and how: the audit scope of a real request (admin session, API key, REST session), of
a management command and of a Celery task."""

from __future__ import annotations

import re

import pytest
from celery import shared_task
from django.core.management import call_command
from django.core.management.base import BaseCommand
from rest_framework.test import APIClient

from apikeys import services as apikeys
from audit import actors, context, hooks, services
from audit.context import audit_context
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db
probe_urls = pytest.mark.urls("tests.audit.urls_probe")
GENERATED_ID = re.compile(r"[0-9a-f]{32}")


@probe_urls
def test_an_admin_request_records_the_session_user_the_admin_channel_and_its_request_id(
    client, make_user
):
    boss = make_user("boss", superuser=True)
    client.login(username="boss", password="pw-12345678")

    response = client.post("/admin/audit-probe/", HTTP_X_REQUEST_ID="req-42.a:b")

    assert response.json() == {
        "actor_type": "user",
        "actor_id": str(boss.pk),
        "actor_name": "boss",
        "channel": "admin",
        "request_id": "req-42.a:b",
        "client_ip": "127.0.0.1",
    }
    assert response["X-Request-ID"] == "req-42.a:b"


@probe_urls
def test_an_api_key_request_records_the_key_by_name_and_key_id_through_the_api_channel(db):
    issued = apikeys.apikey_create(name="ERP", scopes=["audit:read"])
    client = APIClient(REMOTE_ADDR="10.1.2.3")

    response = client.post("/api/audit-probe/", HTTP_X_API_KEY=issued.key)

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["actor_type"], body["actor_id"]) == ("api_key", str(issued.api_key.pk))
    assert body["actor_name"] == f"ERP ({issued.api_key.key_id})"
    assert (body["channel"], body["client_ip"]) == ("api", "10.1.2.3")
    assert GENERATED_ID.fullmatch(body["request_id"])
    assert response["X-Request-ID"] == body["request_id"]
    assert issued.key not in str(list(AuditEvent.objects.values()))  # the key's and the probe's


@probe_urls
def test_a_session_request_to_the_api_records_the_user(make_user):
    auditor = make_user("auditor", role="Auditor")
    client = APIClient()
    client.force_login(auditor)

    body = client.post("/api/audit-probe/").json()

    assert (body["actor_type"], body["actor_name"], body["channel"]) == ("user", "auditor", "api")


@probe_urls
@pytest.mark.parametrize("incoming", ["has spaces", "x" * 129, "../../etc", "a\u00e9b", ""])
def test_a_malformed_request_id_is_replaced_by_a_generated_one(client, make_user, incoming):
    make_user("boss", superuser=True)
    client.login(username="boss", password="pw-12345678")

    response = client.post("/admin/audit-probe/", HTTP_X_REQUEST_ID=incoming)

    assert GENERATED_ID.fullmatch(response.json()["request_id"])
    assert response["X-Request-ID"] == response.json()["request_id"]


@probe_urls
def test_the_client_address_comes_through_the_trusted_proxies_only(client, make_user, settings):
    settings.API_NUM_PROXIES = 1
    make_user("boss", superuser=True)
    client.login(username="boss", password="pw-12345678")

    body = client.post(
        "/admin/audit-probe/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9"
    ).json()  # the client may write anything left of what our one proxy appended

    assert body["client_ip"] == "203.0.113.9"


def test_every_answer_carries_its_request_id(client):
    assert GENERATED_ID.fullmatch(client.get("/healthz")["X-Request-ID"])
    assert client.get("/api/ncrs/", HTTP_X_REQUEST_ID="abc-1")["X-Request-ID"] == "abc-1"


@probe_urls
def test_a_requests_scope_ends_with_it(client, make_user):
    make_user("boss", superuser=True)
    client.login(username="boss", password="pw-12345678")
    client.post("/admin/audit-probe/")

    assert context.current().channel == "command"
    assert context.current().actor == actors.system()


class RecordingCommand(BaseCommand):
    def handle(self, *args: object, **options: object) -> None:
        services.event_record(
            action="revoked", object_type="api_key", object_id=3, object_repr="ERP", reason="leak"
        )


def test_a_management_command_records_the_command_channel_and_the_os_user():
    call_command(RecordingCommand())

    event = AuditEvent.objects.get()
    user = hooks.os_user()
    assert (event.channel, event.actor_type, event.actor_id) == ("command", "system", user)
    assert event.actor_name == f"{user} (manage.py test_context)"
    assert context.current().actor == actors.system()  # the scope ended with the command


def test_a_sync_run_scope_inside_a_command_names_the_run_and_keeps_the_outer_request_id():
    class Configuration:
        name = "ERP suppliers"

    class Run:
        pk = 17
        configuration = Configuration()

    with (
        audit_context(request_id="outer"),
        audit_context(actor=actors.sync_run(Run()), channel="sync"),
    ):
        event = services.event_record(
            action="retired", object_type="supplier", object_id=5, object_repr="S-5"
        )

    assert (event.actor_type, event.actor_id, event.actor_name) == (
        "sync_run",
        "17",
        "ERP suppliers (run 17)",
    )
    assert (event.channel, event.request_id) == ("sync", "outer")


@shared_task(name="tests.audit.record_in_task")
def record_in_task() -> int:
    return services.event_record(
        action="disabled", object_type="webhook_subscription", object_id=9, object_repr="ERP"
    ).pk


def test_a_task_records_the_task_channel_the_system_actor_and_its_task_id():
    with audit_context(actor=actors.system("caller"), channel="admin", request_id="outer"):
        result = record_in_task.apply()
        after = context.current()

    event = AuditEvent.objects.get(pk=result.get())
    assert (event.channel, event.actor_type, event.actor_name) == (
        "task",
        "system",
        "task tests.audit.record_in_task",
    )
    assert event.request_id == result.id
    assert (after.channel, after.actor.name, after.request_id) == ("admin", "caller", "outer")
