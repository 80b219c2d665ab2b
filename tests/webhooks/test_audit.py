"""The audit trail of webhook subscriptions (issue 13) and the evidence of pruned deliveries:
every change through the REST API, the admin, the service itself and the prune command, with
actor, channel and old → new values, and never a secret or a custom header's value."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys import services as keys
from audit.models import AuditEvent
from quality import services as quality
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription

pytestmark = pytest.mark.django_db
HEADER_VALUE = "Bearer plant-7-credential"


def trail(object_type: str = "webhook_subscription", **filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type=object_type, **filters).order_by("id"))


def assert_no_secret_in_trail(*secrets: str) -> None:
    dumped = json.dumps(list(AuditEvent.objects.values()), default=str)
    for secret in secrets:
        assert secret not in dumped
    assert "whsec_" not in dumped


@pytest.fixture
def key_client():
    issued = keys.apikey_create(name="ERP integration", scopes=["webhooks:manage", "ncr:read"])
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=issued.key)
    return client, issued.api_key


@pytest.fixture
def boss(client):
    user = get_user_model().objects.create_superuser("boss", password="pw-12345678")
    client.login(username="boss", password="pw-12345678")
    return client, user


def test_a_subscription_created_through_the_api_is_audited_with_the_key_and_no_secret(
    key_client, receiver
):
    client, key = key_client
    response = client.post(
        "/api/webhooks/",
        {
            "name": "ERP",
            "url": receiver.url,
            "events": ["ncr.created"],
            "custom_headers": {"Authorization": HEADER_VALUE},
        },
        format="json",
    )
    assert response.status_code == 201

    [event] = trail()
    assert (event.action, event.channel, event.actor_type) == ("created", "api", "api_key")
    assert (event.actor_id, event.actor_name) == (str(key.pk), f"ERP integration ({key.key_id})")
    assert (event.object_id, event.object_repr) == (str(response.json()["id"]), "ERP")
    assert event.changes["url"] == [None, receiver.url]
    assert event.changes["events"] == [None, ["ncr.created"]]
    assert event.changes["custom_headers"] == [None, ["Authorization"]]
    assert event.changes["custom_header_values"] == [None, "[set]"]
    assert event.changes["secret"] == [None, "[set]"]
    assert_no_secret_in_trail(response.json()["secret"], HEADER_VALUE)


def test_a_change_records_old_and_new_values_and_a_change_of_nothing_records_nothing(
    make_subscription, client_for
):
    subscription, secret = make_subscription(custom_headers={"Authorization": HEADER_VALUE})
    api = client_for("Admin")

    api.patch(
        f"/api/webhooks/{subscription.pk}/",
        {
            "max_retries": 2,
            "events": ["ncr.closed"],
            "custom_headers": {"Authorization": "Bearer rotated-credential"},
        },
        format="json",
    )
    api.patch(f"/api/webhooks/{subscription.pk}/", {"max_retries": 2}, format="json")

    _, updated = trail()
    assert (updated.action, updated.channel, updated.actor_type) == ("updated", "api", "user")
    assert updated.actor_name == "user-Admin"
    assert updated.changes == {
        "custom_header_values": ["[secret]", "[changed]"],
        "events": [["ncr.created", "ncr.updated", "ncr.closed"], ["ncr.closed"]],
        "max_retries": [5, 2],
    }
    assert_no_secret_in_trail(secret, HEADER_VALUE, "rotated-credential")


def test_disabling_and_enabling_by_a_person_are_audited_as_such(make_subscription, client_for):
    subscription, _ = make_subscription()
    api = client_for("Admin")

    api.patch(f"/api/webhooks/{subscription.pk}/", {"is_active": False}, format="json")
    api.patch(f"/api/webhooks/{subscription.pk}/", {"is_active": True}, format="json")

    _, disabled, enabled = trail()
    assert disabled.action == "disabled" and disabled.actor_name == "user-Admin"
    assert disabled.changes == {
        "disabled_reason": ["", "Disabled by a user."],
        "is_active": [True, False],
    }
    assert enabled.action == "enabled"
    assert enabled.changes == {
        "disabled_reason": ["Disabled by a user.", ""],
        "is_active": [False, True],
    }


def test_the_admin_actions_disable_and_enable_are_audited_with_the_person(make_subscription, boss):
    client, user = boss
    subscription, _ = make_subscription(name="MES")
    url = "/admin/webhooks/webhooksubscription/"

    client.post(url, {"action": "disable", "_selected_action": [subscription.pk]})
    client.post(url, {"action": "enable", "_selected_action": [subscription.pk]})

    _, disabled, enabled = trail()
    for event in (disabled, enabled):
        assert (event.channel, event.actor_type, event.actor_id) == ("admin", "user", str(user.pk))
    assert disabled.action == "disabled" and disabled.reason == "Disabled by boss."
    assert disabled.changes["is_active"] == [True, False]
    assert enabled.action == "enabled" and enabled.changes["is_active"] == [False, True]


def test_a_subscription_the_service_disables_after_a_410_is_audited_with_the_reason(
    make_subscription, receiver
):
    make_subscription()
    receiver.respond(410)
    quality.ncr_create(title="Weld crack")

    services.delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)

    event = trail(action="disabled")[0]
    assert event.actor_type == "system"
    assert event.reason.startswith("The receiver answered 410 Gone on ")
    assert event.changes["is_active"] == [True, False]


def test_regenerating_the_secret_is_audited_without_either_secret(make_subscription, client_for):
    subscription, old = make_subscription()

    response = client_for("Admin").post(
        f"/api/webhooks/{subscription.pk}/regenerate-secret/",
        {"grace_period_seconds": 3600},
        format="json",
    )

    [event] = trail(action="secret_rotated")
    assert event.changes["secret"] == ["[secret]", "[changed]"]
    assert event.changes["previous_secret_valid_until"][0] is None
    assert event.reason == "The previous secret keeps signing for 3600 s."
    assert_no_secret_in_trail(old, response.json()["secret"])


def test_deleting_through_the_api_goes_through_the_service_and_keeps_the_evidence(
    make_subscription, receiver, client_for
):
    subscription, secret = make_subscription(name="ERP")
    quality.ncr_create(title="Weld crack")
    delivery = WebhookDelivery.objects.get()
    services.delivery_attempt(delivery_id=delivery.pk)

    response = client_for("Admin").delete(f"/api/webhooks/{subscription.pk}/")

    assert response.status_code == 204
    assert not WebhookSubscription.objects.exists() and not WebhookDelivery.objects.exists()
    [deleted] = trail(action="deleted")
    assert (deleted.object_id, deleted.object_repr, deleted.channel) == (
        str(subscription.pk),
        "ERP",
        "api",
    )
    assert deleted.changes["url"] == [receiver.url, None]
    assert deleted.changes["secret"] == ["[secret]", None]
    [evidence] = trail("webhook_delivery")
    assert (evidence.action, evidence.object_id) == ("delivered", str(delivery.pk))
    assert evidence.changes["subscription_id"] == [None, subscription.pk]
    assert evidence.reason == "Deleted with its subscription."
    assert_no_secret_in_trail(secret)


def test_deleting_in_the_admin_goes_through_the_service_and_is_audited(make_subscription, boss):
    client, user = boss
    subscription, _ = make_subscription(name="MES")

    response = client.post(
        f"/admin/webhooks/webhooksubscription/{subscription.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 302 and not WebhookSubscription.objects.exists()
    [deleted] = trail(action="deleted")
    assert (deleted.channel, deleted.actor_id, deleted.object_repr) == (
        "admin",
        str(user.pk),
        "MES",
    )


def test_the_admin_delete_action_audits_each_subscription(make_subscription, boss):
    client, _ = boss
    first, _ = make_subscription(name="A")
    second, _ = make_subscription(name="B")

    client.post(
        "/admin/webhooks/webhooksubscription/",
        {"action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"},
    )

    assert not WebhookSubscription.objects.exists()
    assert sorted(e.object_repr for e in trail(action="deleted")) == ["A", "B"]


def test_the_admin_history_page_shows_the_trail_from_every_channel(
    make_subscription, boss, client_for
):
    client, _ = boss
    subscription, _ = make_subscription(name="ERP")
    client_for("Admin").patch(
        f"/api/webhooks/{subscription.pk}/", {"max_retries": 1}, format="json"
    )

    page = client.get(f"/admin/webhooks/webhooksubscription/{subscription.pk}/history/")

    text = page.content.decode()
    assert page.status_code == 200
    assert "max_retries" in text and "user-Admin" in text
    assert "have a change history" not in text


def test_pruning_deliveries_keeps_in_the_trail_who_was_sent_what_and_the_outcome(
    make_subscription, receiver
):
    make_subscription(name="ERP", retry_enabled=False)
    receiver.respond(200, 500)
    for title in ("A", "B", "C"):
        quality.ncr_create(title=title)
    ok, failed, waiting = WebhookDelivery.objects.order_by("id")
    services.delivery_attempt(delivery_id=ok.pk)
    services.delivery_attempt(delivery_id=failed.pk)
    old = timezone.now() - timedelta(days=40)
    WebhookDelivery.objects.update(created_at=old)
    WebhookEvent.objects.update(created_at=old)
    messages = dict(WebhookDelivery.objects.values_list("id", "event__message_id"))

    out = StringIO()
    call_command("prune_webhook_deliveries", "--older-than-days", "30", "--commit", stdout=out)

    assert "Deleted 2 deliveries" in out.getvalue()
    assert list(WebhookDelivery.objects.values_list("id", flat=True)) == [waiting.pk]
    delivered, gave_up = trail("webhook_delivery")
    assert (delivered.action, delivered.object_id) == ("delivered", str(ok.pk))
    assert (gave_up.action, gave_up.object_id) == ("delivery_failed", str(failed.pk))
    assert delivered.object_repr == "ncr.created to ERP"
    assert delivered.changes["message_id"] == [None, messages[ok.pk]]
    assert delivered.changes["status"] == [None, "succeeded"]
    assert gave_up.changes["last_status_code"] == [None, 500]
    assert gave_up.changes["attempts"] == [None, 1]
    assert gave_up.channel == "command" and gave_up.actor_type == "system"
    assert "pruned (older than 30 days)" in gave_up.reason

    before = AuditEvent.objects.count()
    WebhookDelivery.objects.update(created_at=old - timedelta(days=400))
    call_command("prune_webhook_deliveries", "--older-than-days", "1", "--commit", stdout=out)
    assert AuditEvent.objects.count() == before  # nothing pending was pruned; no event lost


def test_a_dry_run_of_the_prune_records_nothing(make_subscription, receiver):
    make_subscription()
    quality.ncr_create(title="A")
    services.delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)
    WebhookDelivery.objects.update(created_at=timezone.now() - timedelta(days=40))

    call_command("prune_webhook_deliveries", "--older-than-days", "30", stdout=StringIO())

    assert trail("webhook_delivery") == [] and WebhookDelivery.objects.count() == 1


def test_the_evidence_of_many_pruned_deliveries_is_written_in_one_statement(
    make_subscription, receiver
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_subscription()
    for n in range(30):
        quality.ncr_create(title=f"NCR {n}")
    for delivery_id in WebhookDelivery.objects.values_list("id", flat=True):
        services.delivery_attempt(delivery_id=delivery_id)
    WebhookDelivery.objects.update(created_at=timezone.now() - timedelta(days=40))

    traced: list[str] = []  # SQLite: the statements sqlite3 itself runs
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        connection.connection.set_trace_callback(traced.append)
    try:
        with CaptureQueriesContext(connection) as queries:
            services.deliveries_prune(older_than_days=30, commit=True)
    finally:
        if connection.vendor == "sqlite":
            connection.connection.set_trace_callback(None)

    statements = [q["sql"] for q in queries] + traced
    inserts = [sql for sql in statements if sql.startswith('INSERT INTO "audit_auditevent"')]
    # On PostgreSQL events_record_many writes one COPY, on SQLite one multi-row INSERT, both
    # on the driver's own cursor (Django's capture does not see them; sqlite3's trace does):
    # no INSERT per delivery either way.
    assert len(inserts) == (0 if connection.vendor == "postgresql" else 1)
    assert len(trail("webhook_delivery", action="delivered")) == 30
