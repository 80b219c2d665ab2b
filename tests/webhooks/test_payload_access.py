"""A delivery's payload carries the NCR or CAPA as the API shows it: reading it takes what
reading that record takes (`ncr:read` / `capa:read` for keys, the view permission for users),
on top of reading deliveries. Without it the payload, and what the receiver answered (it may
echo the body), are null and `payload_redacted` says so."""

from __future__ import annotations

import base64
import json

import pytest
from django.contrib.auth.models import Group, Permission
from rest_framework.test import APIClient

from apikeys.services import apikey_create
from quality import services as quality
from webhooks import services
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db


def key_client(*scopes: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=apikey_create(name="k", scopes=list(scopes)).key)
    return client


@pytest.fixture
def deliveries(make_subscription, receiver) -> dict[str, WebhookDelivery]:
    """One attempted delivery per kind of event, the receiver echoing what it got."""
    subscription, _ = make_subscription(events=["ncr.created", "capa.created"])
    ncr = quality.ncr_create(title="Crack in weld seam", severity="major")
    quality.capa_create(title="Requalify welder", capa_type="corrective", ncr=ncr)
    services.subscription_send_test(subscription=subscription)
    found = {}
    for delivery in WebhookDelivery.objects.select_related("event"):
        receiver.respond((500, {}, delivery.event.payload))  # a receiver that echoes the body
        services.delivery_retry_now(delivery=delivery)
        found[delivery.event.event_type] = delivery
    return found


def read(client: APIClient, delivery: WebhookDelivery) -> dict:
    response = client.get(f"/api/webhooks/deliveries/{delivery.pk}/")
    assert response.status_code == 200, response.json()
    return response.json()


def test_a_webhooks_read_key_sees_deliveries_but_not_the_ncr_or_capa_they_carry(deliveries):
    reader = key_client("webhooks:read")

    for event_type in ("ncr.created", "capa.created"):
        data = read(reader, deliveries[event_type])

        assert data["payload_redacted"] is True
        assert data["payload"] is None
        assert data["attempts"] and all(a["response_body"] is None for a in data["attempts"])
        assert "Crack in weld seam" not in str(data) and "Requalify" not in str(data)
        assert data["event_type"] == event_type and data["status"]  # the rest is there


def test_the_record_scope_shows_the_payload_of_its_own_events_only(deliveries):
    ncr_reader = key_client("webhooks:read", "ncr:read")

    ncr = read(ncr_reader, deliveries["ncr.created"])
    capa = read(ncr_reader, deliveries["capa.created"])

    assert ncr["payload_redacted"] is False
    assert "Crack in weld seam" in ncr["payload"]
    assert "Crack in weld seam" in ncr["attempts"][0]["response_body"]
    assert capa["payload"] is None and capa["payload_redacted"] is True


def test_a_wildcard_key_sees_every_payload(deliveries):
    data = read(key_client("*"), deliveries["capa.created"])

    assert "Requalify welder" in data["payload"]


def test_test_events_carry_no_record_and_are_shown_to_any_reader(deliveries):
    data = read(key_client("webhooks:read"), deliveries["webhook.test"])

    assert data["payload_redacted"] is False
    assert '"webhook.test"' in data["payload"]


def test_a_user_who_may_read_deliveries_but_not_ncrs_sees_no_ncr_payload(deliveries, make_user):
    group = Group.objects.create(name="Webhook operators")
    group.permissions.add(Permission.objects.get(codename="view_webhookdelivery"))
    user = make_user("operator")
    user.groups.add(group)
    client = APIClient()
    client.force_authenticate(user)

    hidden = read(client, deliveries["ncr.created"])
    group.permissions.add(Permission.objects.get(codename="view_ncr"))
    client.force_authenticate(type(user).objects.get(pk=user.pk))  # permissions are cached
    shown = read(client, deliveries["ncr.created"])

    assert hidden["payload"] is None and hidden["payload_redacted"] is True
    assert "Crack in weld seam" in shown["payload"]


@pytest.mark.parametrize("role", ["Auditor", "Manager", "Admin"])
def test_every_role_that_reads_deliveries_reads_their_payloads(deliveries, client_for, role):
    data = read(client_for(role), deliveries["capa.created"])

    assert "Requalify welder" in data["payload"]


# Subscribing is reading: a subscription sends every NCR or CAPA of its events to its URL, so
# pointing one at a receiver of one's own takes what reading the records takes.


def test_a_webhooks_manage_key_cannot_subscribe_a_receiver_to_ncr_or_capa_events(receiver):
    manager = key_client("webhooks:manage")

    response = manager.post(
        "/api/webhooks/",
        {"name": "spy", "url": receiver.url, "events": ["ncr.created", "capa.closed"]},
        format="json",
    )

    assert response.status_code == 400, response.json()
    message = response.json()["errors"]["events"][0]
    assert "ncr:read" in message and "capa:read" in message
    quality.ncr_create(title="Crack in weld seam", severity="major")
    assert not WebhookDelivery.objects.exists() and not receiver.requests


def test_a_webhooks_manage_key_cannot_point_an_ncr_subscription_at_another_url(
    make_subscription, receiver
):
    subscription, _ = make_subscription(url="http://127.0.0.1:9/erp")  # made by an admin
    manager = key_client("webhooks:manage")

    moved = manager.patch(f"/api/webhooks/{subscription.pk}/", {"url": receiver.url}, format="json")
    renamed = manager.patch(f"/api/webhooks/{subscription.pk}/", {"name": "ERP 2"}, format="json")

    assert moved.status_code == 400, moved.json()
    subscription.refresh_from_db()
    assert subscription.url == "http://127.0.0.1:9/erp"
    assert renamed.status_code == 200 and subscription.name == "ERP 2"  # the rest stays its own


def test_a_key_with_the_record_scope_subscribes_to_its_events(receiver):
    reader = key_client("webhooks:manage", "ncr:read")

    allowed = reader.post(
        "/api/webhooks/",
        {"name": "ERP", "url": receiver.url, "events": ["ncr.created"]},
        format="json",
    )
    refused = reader.post(
        "/api/webhooks/",
        {"name": "ERP", "url": receiver.url, "events": ["capa.created"]},
        format="json",
    )

    assert allowed.status_code == 201, allowed.json()
    assert refused.status_code == 400 and "capa:read" in refused.json()["errors"]["events"][0]


def test_custom_header_values_a_receiver_echoes_are_not_kept_in_its_answer(
    make_subscription, receiver, client_for
):
    """Found by the attack of issue 10: a receiver that echoes the request (a debugging
    endpoint, a gateway's error page) showed the custom headers' values, which the API shows
    as ******** to everybody, to every reader of deliveries."""
    token, user_pw = "Bearer tok-4f9a2c71e0", "svc:Wn8#q2"
    subscription, _ = make_subscription(
        events=["ncr.created"], custom_headers={"Authorization": token, "X-Pass": user_pw}
    )
    echoed = json.dumps(
        {
            "headers": {"Authorization": token, "X-Pass": user_pw},
            "basic": base64.b64encode(user_pw.encode()).decode(),
        }
    )
    receiver.respond((400, {}, echoed))
    services.subscription_send_test(subscription=subscription)

    delivery = WebhookDelivery.objects.get()
    seen = [
        read(key_client("*"), delivery),
        read(client_for("Auditor"), delivery),
    ]

    assert receiver.requests and receiver.requests[0].headers["Authorization"] == token
    for data in seen:
        body = data["attempts"][0]["response_body"]
        assert "tok-4f9a2c71e0" not in body and "Wn8#q2" not in body
        assert base64.b64encode(user_pw.encode()).decode() not in body
        assert '"headers"' in body  # the rest of the answer is kept


# Operational events carry what their own APIs guard: a run's error and configuration, a
# conflict's record key and fields (sync:read), an API key's name, key_id and expiry (people
# who may view API keys; no key may).


def test_operational_events_about_sync_and_api_keys_take_what_reading_those_takes(receiver):
    webhooks_only = key_client("webhooks:manage", "webhooks:read")
    sync_reader = key_client("webhooks:manage", "sync:read")

    def subscribe(client: APIClient, events: list[str]):
        body = {"name": "ops", "url": receiver.url, "events": events}
        return client.post("/api/webhooks/", body, format="json")

    refused = {
        event: subscribe(webhooks_only, [event])
        for event in ("sync.run.failed", "sync.conflict.pending", "apikey.expiring")
    }
    allowed = subscribe(webhooks_only, ["webhook.subscription.disabled"])
    sync_allowed = subscribe(sync_reader, ["sync.run.failed", "sync.conflict.pending"])
    keys_refused = subscribe(key_client("*"), ["apikey.expiring"])

    for event, response in refused.items():
        assert response.status_code == 400, (event, response.json())
        assert event in response.json()["errors"]["events"][0]
    assert "sync:read" in refused["sync.run.failed"].json()["errors"]["events"][0]
    assert allowed.status_code == 201, allowed.json()
    assert sync_allowed.status_code == 201, sync_allowed.json()
    assert keys_refused.status_code == 400, keys_refused.json()


def test_a_delivery_of_an_api_key_event_is_redacted_for_readers_who_may_not_view_keys(
    make_subscription, client_for
):
    from apikeys.models import APIKey

    subscription, _ = make_subscription(events=["apikey.expiring"])
    key = apikey_create(name="MES line 3", scopes=["ncr:read"]).api_key
    services.event_publish(
        event_type="apikey.expiring",
        data={"object": {"type": "api_key", "id": key.pk, "name": key.name}, "key_id": key.key_id},
    )
    delivery = WebhookDelivery.objects.get(subscription=subscription)

    for reader in (key_client("webhooks:read"), client_for("Manager"), client_for("Auditor")):
        data = read(reader, delivery)

        assert data["payload_redacted"] is True and data["payload"] is None
        assert key.key_id not in str(data)
    assert APIKey.objects.filter(pk=key.pk).exists()
    assert key.key_id in read(client_for("Admin"), delivery)["payload"]


def test_the_admin_delivery_page_withholds_an_api_key_event_from_those_who_may_not_view_keys(
    make_subscription, make_user
):
    from django.test import Client

    subscription, _ = make_subscription(events=["apikey.expiring"])
    key = apikey_create(name="MES line 3", scopes=["ncr:read"]).api_key
    services.event_publish(
        event_type="apikey.expiring",
        data={"object": {"type": "api_key", "id": key.pk, "name": key.name}, "key_id": key.key_id},
    )
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    page = f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/"

    def seen_by(role: str) -> str:
        user = make_user(f"admin-page-{role}", role=role)
        user.is_staff = True  # people with a role reach the admin
        user.save()
        browser = Client()
        browser.force_login(user)
        response = browser.get(page)
        assert response.status_code == 200
        return response.content.decode()

    for role in ("Manager", "Auditor"):
        text = seen_by(role)
        assert "Withheld" in text and key.key_id not in text and "MES line 3" not in text
    assert key.key_id in seen_by("Admin")
