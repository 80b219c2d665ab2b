"""Webhook endpoints with API keys: webhooks:read reads, webhooks:manage changes."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apikeys.services import apikey_create
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
    manager = client_with("webhooks:manage", "webhooks:read")

    created = manager.post(
        "/api/webhooks/",
        {"name": "ERP", "url": "http://127.0.0.1:9/hook", "events": ["ncr.created"]},
        format="json",
    )
    detail = manager.get(f"/api/webhooks/{created.json()['id']}/")

    assert created.status_code == 201, created.json()
    assert created.json()["secret"].startswith("whsec_")
    assert "whsec_" not in str(detail.json())
