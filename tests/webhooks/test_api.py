"""The webhooks REST API: CRUD, secrets shown once, redaction, tests, deliveries, statistics,
retry, recover, permissions, and bad input answered with 400."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from eqms_integration import encryption
from quality import services as quality
from tests.webhooks.conftest import deliveries_handed_to_workers
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db


def create(api, receiver, **overrides):
    body = {"name": "ERP", "url": receiver.url, "events": ["ncr.created"], **overrides}
    return api.post("/api/webhooks/", body, format="json")


def test_creating_a_subscription_returns_its_secret_once_and_stores_it_encrypted(
    admin_api, receiver
):
    response = create(admin_api, receiver, custom_headers={"Authorization": "Bearer t0ken"})

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["secret"].startswith("whsec_")
    assert data["custom_headers"] == {"Authorization": "********"}
    assert (data["max_retries"], data["retry_delay_seconds"], data["retry_enabled"]) == (
        5,
        60,
        True,
    )
    stored = WebhookSubscription.objects.get(pk=data["id"])
    assert data["secret"] not in stored.secret_encrypted
    assert encryption.decrypt(stored.secret_encrypted) == data["secret"]
    assert "t0ken" not in stored.custom_headers_encrypted
    again = admin_api.get(f"/api/webhooks/{data['id']}/").json()
    listed = admin_api.get("/api/webhooks/").json()["results"][0]
    for shown in (again, listed):
        assert "secret" not in shown and "t0ken" not in str(shown)


def test_a_subscription_can_be_updated_and_deleted(admin_api, receiver):
    sub = create(admin_api, receiver, custom_headers={"X-Key": "one"}).json()

    patched = admin_api.patch(
        f"/api/webhooks/{sub['id']}/",
        {
            "events": ["ncr.closed", "capa.closed"],
            "max_retries": 0,
            "custom_headers": {"X-Key": "********", "X-Plant": "7"},
        },
        format="json",
    )

    assert patched.status_code == 200, patched.json()
    stored = WebhookSubscription.objects.get(pk=sub["id"])
    assert stored.events == ["ncr.closed", "capa.closed"] and stored.max_retries == 0
    assert services.subscriptions.custom_headers_of(stored) == {"X-Key": "one", "X-Plant": "7"}
    assert admin_api.delete(f"/api/webhooks/{sub['id']}/").status_code == 204
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "text"),
    [
        ({"events": ["ncr.deleted"]}, "events", "not a valid choice"),
        ({"events": []}, "events", ""),
        ({"url": "http://localhost:9000/hook"}, "url", "WEBHOOK_ALLOWED_NETWORKS"),
        ({"url": "http://169.254.169.254/"}, "url", "always blocked"),
        ({"url": "http://10.0.0.8/hook"}, "url", "'private'"),
        ({"url": "ftp://example.com/"}, "url", "Only http and https"),
        ({"url": "not a url"}, "url", ""),
        ({"max_retries": 11}, "max_retries", ""),
        ({"max_retries": -1}, "max_retries", ""),
        ({"retry_delay_seconds": 5}, "retry_delay_seconds", ""),
        ({"retry_delay_seconds": 3601}, "retry_delay_seconds", ""),
        ({"custom_headers": {"webhook-signature": "v1,forged"}}, "custom_headers", "overridden"),
        ({"custom_headers": {"X-Webhook-Signature": "x"}}, "custom_headers", "overridden"),
        ({"custom_headers": {"x-webhook-signature-previous": "x"}}, "custom_headers", "overridden"),
        ({"custom_headers": {"User-Agent": "x"}}, "custom_headers", "overridden"),
        ({"custom_headers": {"Bad Name": "x"}}, "custom_headers", "not a valid header"),
        ({"custom_headers": "nope"}, "custom_headers", ""),
    ],
)
def test_bad_input_is_a_400_with_field_errors(
    admin_api, receiver, settings, overrides, field, text
):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    body = {"name": "ERP", "url": "https://93.184.215.14/hook", "events": ["ncr.created"]}

    response = admin_api.post("/api/webhooks/", {**body, **overrides}, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["errors"]
    assert text in str(response.json()["errors"][field])
    assert not WebhookSubscription.objects.exists()


def test_invalid_json_is_a_400_not_a_500(admin_api):
    response = admin_api.generic(
        "POST", "/api/webhooks/", "{not json", content_type="application/json"
    )

    assert response.status_code == 400 and response.json()["code"] == "parse_error"


def test_regenerating_the_secret_returns_it_once_with_a_grace_for_the_old_one(admin_api, receiver):
    sub = create(admin_api, receiver).json()

    response = admin_api.post(f"/api/webhooks/{sub['id']}/regenerate-secret/", {}, format="json")

    assert response.status_code == 200
    new = response.json()["secret"]
    assert new != sub["secret"] and new.startswith("whsec_")
    until = response.json()["previous_secret_valid_until"]
    shown = admin_api.get(f"/api/webhooks/{sub['id']}/").json()
    assert shown["secret_rotation_ends_at"] == until
    stored = WebhookSubscription.objects.get()
    left = stored.previous_secret_expires_at - timezone.now()
    assert timedelta(hours=23, minutes=59) < left <= timedelta(hours=24)


def test_a_zero_grace_period_drops_the_old_secret_at_once(admin_api, receiver):
    sub = create(admin_api, receiver).json()

    response = admin_api.post(
        f"/api/webhooks/{sub['id']}/regenerate-secret/", {"grace_period_seconds": 0}
    )
    bad = admin_api.post(
        f"/api/webhooks/{sub['id']}/regenerate-secret/", {"grace_period_seconds": -5}
    )

    assert response.json()["previous_secret_valid_until"] is None
    assert WebhookSubscription.objects.get().previous_secret_encrypted == ""
    assert bad.status_code == 400 and "grace_period_seconds" in bad.json()["errors"]


def test_the_test_endpoint_sends_a_signed_webhook_test_and_reports_status_and_time(
    admin_api, receiver
):
    sub = create(admin_api, receiver).json()

    response = admin_api.post(f"/api/webhooks/{sub['id']}/test/")

    assert response.status_code == 200
    result = response.json()
    assert result["succeeded"] is True and result["status_code"] == 200
    assert result["duration_ms"] >= 0
    [request] = receiver.requests
    assert Webhook(sub["secret"]).verify(request.body, request.headers)["event"] == "webhook.test"
    delivery = WebhookDelivery.objects.get(pk=result["delivery_id"])
    assert delivery.status == "succeeded" and delivery.event.event_type == "webhook.test"


def test_a_failing_test_reports_the_error_without_retrying(admin_api, receiver):
    sub = create(admin_api, receiver).json()
    receiver.respond((500, {}, "broken"))

    result = admin_api.post(f"/api/webhooks/{sub['id']}/test/").json()

    assert (result["succeeded"], result["status_code"]) == (False, 500)
    assert WebhookDelivery.objects.get().status == "failed"
    assert WebhookSubscription.objects.get().consecutive_failures == 0  # tests do not count


def test_the_test_endpoint_is_rate_limited(admin_api, receiver, settings):
    settings.WEBHOOK_TEST_RATE = "2/minute"
    sub = create(admin_api, receiver).json()

    codes = [admin_api.post(f"/api/webhooks/{sub['id']}/test/").status_code for _ in range(3)]

    assert codes == [200, 200, 429]
    assert len(receiver.requests) == 2


def test_deliveries_are_listed_per_subscription_and_filtered_by_status(admin_api, receiver):
    sub = create(admin_api, receiver).json()
    quality.ncr_create(title="A")
    quality.ncr_create(title="B")
    first = WebhookDelivery.objects.order_by("id").first()
    services.delivery_attempt(delivery_id=first.pk)

    everything = admin_api.get(f"/api/webhooks/{sub['id']}/deliveries/").json()
    succeeded = admin_api.get(f"/api/webhooks/{sub['id']}/deliveries/?status=succeeded").json()
    bad = admin_api.get(f"/api/webhooks/{sub['id']}/deliveries/?status=lost")

    assert everything["count"] == 2
    assert [d["id"] for d in succeeded["results"]] == [first.pk]
    assert succeeded["results"][0]["event_type"] == "ncr.created"
    assert bad.status_code == 400 and "status" in bad.json()["errors"]
    detail = admin_api.get(f"/api/webhooks/deliveries/{first.pk}/").json()
    assert detail["attempts"][0]["status_code"] == 200 and detail["payload"].startswith("{")


def test_statistics_give_totals_success_rate_latency_and_pending_age(admin_api, receiver):
    sub = create(admin_api, receiver).json()
    receiver.respond(500)
    for title in "ABC":
        quality.ncr_create(title=title)
    for delivery in WebhookDelivery.objects.order_by("id")[:2]:
        services.delivery_attempt(delivery_id=delivery.pk)

    stats = admin_api.get(f"/api/webhooks/{sub['id']}/statistics/?days=7").json()

    assert stats["by_status"] == {"pending": 2, "delivering": 0, "succeeded": 1, "failed": 0}
    assert stats["total"] == 3 and stats["success_rate"] == 1.0 and stats["attempts"] == 2
    assert stats["latency_ms_p50"] is not None and stats["latency_ms_p95"] is not None
    assert stats["oldest_pending_age_seconds"] >= 0
    assert stats["consecutive_failures"] == 0
    assert admin_api.get(f"/api/webhooks/{sub['id']}/statistics/?days=0").status_code == 400
    assert admin_api.get(f"/api/webhooks/{sub['id']}/statistics/?days=x").status_code == 400


def test_retry_makes_one_immediate_attempt_of_that_delivery_only(admin_api, receiver):
    sub = create(admin_api, receiver, max_retries=0).json()
    receiver.respond(500, 500)
    quality.ncr_create(title="A")
    quality.ncr_create(title="B")
    first, second = WebhookDelivery.objects.order_by("id")
    for delivery in (first, second):
        services.delivery_attempt(delivery_id=delivery.pk)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"failed"}

    response = admin_api.post(f"/api/webhooks/deliveries/{first.pk}/retry/")

    assert response.status_code == 200, response.json()
    assert response.json()["succeeded"] and response.json()["delivery_status"] == "succeeded"
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.attempt_count) == ("succeeded", 2)
    assert (second.status, second.attempt_count) == ("failed", 1)
    assert len(receiver.requests) == 3
    assert sub["id"] == first.subscription_id


def test_retry_of_a_delivery_a_worker_holds_is_refused_without_sending_even_if_its_lease_expired(
    admin_api, receiver
):
    create(admin_api, receiver)
    quality.ncr_create(title="A")
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="delivering",
        lease_token="worker-1",
        lease_expires_at=timezone.now() - timedelta(seconds=1),
        attempt_count=1,
    )

    response = admin_api.post(f"/api/webhooks/deliveries/{delivery.pk}/retry/")

    assert response.status_code == 400
    assert "status" in response.json()["errors"]
    assert receiver.requests == []
    delivery.refresh_from_db()
    assert (delivery.status, delivery.lease_token, delivery.attempt_count) == (
        "delivering",
        "worker-1",
        1,
    )
    assert not delivery.attempts.exists()


def test_recover_requeues_failed_deliveries_in_the_window_with_a_fresh_budget(
    admin_api, receiver, django_capture_on_commit_callbacks
):
    sub = create(admin_api, receiver, max_retries=0).json()
    receiver.respond(500, 500)
    quality.ncr_create(title="A")
    quality.ncr_create(title="B")
    old, recent = WebhookDelivery.objects.order_by("id")
    for delivery in (old, recent):
        services.delivery_attempt(delivery_id=delivery.pk)
    WebhookDelivery.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    window = {
        "since": (timezone.now() - timedelta(hours=1)).isoformat(),
        "until": (timezone.now() + timedelta(minutes=1)).isoformat(),
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.post(f"/api/webhooks/{sub['id']}/recover/", window, format="json")

    assert response.status_code == 202 and response.json() == {"requeued": 1}
    assert deliveries_handed_to_workers() == [recent.pk]
    services.delivery_attempt(delivery_id=recent.pk)
    recent.refresh_from_db()
    old.refresh_from_db()
    assert (recent.status, old.status) == ("succeeded", "failed")
    reversed_window = {"since": window["until"], "until": window["since"]}
    bad = admin_api.post(f"/api/webhooks/{sub['id']}/recover/", reversed_window, format="json")
    assert bad.status_code == 400 and "until" in bad.json()["errors"]
    assert admin_api.post(f"/api/webhooks/{sub['id']}/recover/", {}).status_code == 400


def test_auditors_read_managers_manage_and_others_are_refused(client_for, receiver):
    manager = client_for("Manager")
    auditor = client_for("Auditor")
    sub = create(manager, receiver)
    assert sub.status_code == 201
    sub_id = sub.json()["id"]

    assert auditor.get("/api/webhooks/").status_code == 200
    assert auditor.get(f"/api/webhooks/{sub_id}/statistics/").status_code == 200
    assert auditor.get(f"/api/webhooks/{sub_id}/deliveries/").status_code == 200
    assert create(auditor, receiver).status_code == 403
    assert auditor.post(f"/api/webhooks/{sub_id}/test/").status_code == 403
    assert auditor.post(f"/api/webhooks/{sub_id}/regenerate-secret/").status_code == 403
    assert auditor.delete(f"/api/webhooks/{sub_id}/").status_code == 403
    assert client_for("").get("/api/webhooks/").status_code == 403
    assert client_for(None).get("/api/webhooks/").json()["code"] == "not_authenticated"


def test_every_webhook_view_declares_permissions_and_scopes_for_its_actions():
    from webhooks.api.views import WebhookDeliveryViewSet, WebhookSubscriptionViewSet

    for viewset in (WebhookSubscriptionViewSet, WebhookDeliveryViewSet):
        assert set(viewset.required_permissions) == set(viewset.required_scopes)
        assert set(viewset.required_scopes.values()) <= {"webhooks:read", "webhooks:manage"}
    assert WebhookSubscriptionViewSet.required_scopes["test"] == "webhooks:manage"
    assert WebhookSubscriptionViewSet.required_scopes["deliveries"] == "webhooks:read"


def test_unknown_ids_are_404s(admin_api):
    assert admin_api.get("/api/webhooks/999/").status_code == 404
    assert admin_api.post("/api/webhooks/deliveries/999/retry/").status_code == 404
    assert admin_api.get("/api/webhooks/deliveries/").status_code == 200


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("plant ☃", "only latin-1"),
        ("7\r\nX-Injected: 1", "control character"),
        ("7\nX-Injected: 1", "control character"),
        ("a\x01b", "control character"),
        ("a\tb", "control character"),
        ("a\x7fb", "control character"),
        ("a\x85b", "control character"),  # NEL, a C1 control
    ],
)
def test_a_custom_header_value_http_cannot_send_is_refused_naming_the_header(
    admin_api, receiver, value, reason
):
    response = create(admin_api, receiver, custom_headers={"X-Ok": "plant-7", "X-Tenant": value})

    assert response.status_code == 400, response.json()
    (message,) = response.json()["errors"]["custom_headers"]
    assert message.startswith("The value of X-Tenant ") and reason in message
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize("name", ["X:Tenant", "X Tenant", "Tenant\r\nX", "Ténant", "Host"])
def test_a_custom_header_name_http_cannot_send_is_refused(admin_api, receiver, name):
    response = create(admin_api, receiver, custom_headers={name: "7"})

    assert response.status_code == 400
    (message,) = response.json()["errors"]["custom_headers"]
    expected = f"{name} is set by" if name == "Host" else f"{name!r} is not a valid header name"
    assert message.startswith(expected)


def test_changing_a_header_to_a_value_http_cannot_send_is_refused_and_keeps_the_old_one(
    admin_api, receiver
):
    sub = create(admin_api, receiver, custom_headers={"X-Tenant": "7"}).json()

    response = admin_api.patch(
        f"/api/webhooks/{sub['id']}/", {"custom_headers": {"X-Tenant": "ü☃"}}, format="json"
    )

    assert response.status_code == 400 and "X-Tenant" in str(response.json()["errors"])
    stored = WebhookSubscription.objects.get()
    assert services.subscriptions.custom_headers_of(stored) == {"X-Tenant": "7"}
