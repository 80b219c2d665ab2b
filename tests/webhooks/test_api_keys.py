"""Webhook endpoints with API keys: webhooks:read reads, webhooks:manage changes."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apikeys.services import apikey_create
from webhooks import services
from webhooks.models import WebhookSubscription

pytestmark = pytest.mark.django_db


def client_with(*scopes: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=apikey_create(name="k", scopes=list(scopes)).key)
    return client


def test_a_read_key_lists_subscriptions_but_cannot_create_one(allow_loopback):
    reader = client_with("webhooks:read")

    listed = reader.get("/api/webhooks/")
    refused = reader.post(
        "/api/webhooks/",
        {"name": "x", "url": "http://127.0.0.1:9/hook", "events": ["ncr.created"]},
        format="json",
    )

    assert listed.status_code == 200
    assert refused.status_code == 403
    assert refused.json()["message"] == "This API key lacks the scope 'webhooks:manage'."
    assert not WebhookSubscription.objects.exists()


def test_a_manage_key_creates_a_subscription_and_sees_the_secret_once(allow_loopback):
    manager = client_with("webhooks:manage", "webhooks:read", "ncr:read")

    created = manager.post(
        "/api/webhooks/",
        {"name": "ERP", "url": "http://127.0.0.1:9/hook", "events": ["ncr.created"]},
        format="json",
    )
    detail = manager.get(f"/api/webhooks/{created.json()['id']}/")

    assert created.status_code == 201, created.json()
    assert created.json()["secret"].startswith("whsec_")
    assert "whsec_" not in str(detail.json())


def test_each_api_key_has_its_own_test_send_limit(receiver, settings):
    settings.WEBHOOK_TEST_RATE = "2/minute"
    first, second = (client_with("webhooks:manage", "ncr:read") for _ in range(2))
    sub_id = first.post(
        "/api/webhooks/",
        {"name": "ERP", "url": receiver.url, "events": ["ncr.created"]},
        format="json",
    ).json()["id"]

    first_codes = [first.post(f"/api/webhooks/{sub_id}/test/").status_code for _ in range(3)]
    second_codes = [second.post(f"/api/webhooks/{sub_id}/test/").status_code for _ in range(3)]

    assert first_codes == [200, 200, 429]
    assert second_codes == [200, 200, 429]
    assert len(receiver.requests) == 4


def test_a_keys_own_rate_limit_still_applies_to_test_sends(receiver, settings):
    settings.WEBHOOK_TEST_RATE = "100/minute"
    manager = APIClient()
    manager.credentials(
        HTTP_X_API_KEY=apikey_create(
            name="k", scopes=["webhooks:manage"], rate_limit_per_minute=2
        ).key
    )
    sub = services.subscription_create(name="ERP", url=receiver.url, events=["ncr.created"])[0]

    codes = [manager.post(f"/api/webhooks/{sub.pk}/test/").status_code for _ in range(3)]

    assert codes == [200, 200, 429]
    assert len(receiver.requests) == 2
