"""No secret reaches any log, at any level: the flows that issue or rotate API keys and webhook
secrets, and that store sync credentials, run with LOG_LEVEL=DEBUG through the service's own
logging configuration, and nothing they showed once is in what was written."""

from __future__ import annotations

import io
import logging
import logging.config
import re

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model

from eqms_integration import encryption
from eqms_integration.logconfig import logging_config, redact
from webhooks.models import WebhookSubscription

pytestmark = pytest.mark.django_db

KEY = re.compile(r"eqms_[0-9A-Za-z]{12}_[0-9A-Za-z]{49}")


@pytest.fixture
def debug_log():
    """The service's logging at DEBUG, its console handler writing into a buffer."""
    logging.config.dictConfig(logging_config("DEBUG"))
    buffer = io.StringIO()
    [handler] = logging.getLogger().handlers
    handler.setStream(buffer)
    try:
        yield buffer.getvalue
    finally:
        logging.config.dictConfig(django_settings.LOGGING)


@pytest.fixture
def admin_client(client):
    get_user_model().objects.create_superuser("boss", password="pw-12345678")
    client.login(username="boss", password="pw-12345678")
    return client


def subscription_secrets() -> list[str]:
    return [encryption.decrypt(s.secret_encrypted) for s in WebhookSubscription.objects.all()]


def test_keys_and_secrets_issued_over_rest_never_reach_the_log_at_debug(
    admin_api, debug_log, settings
):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    shown = []
    created = admin_api.post("/api/api-keys/", {"name": "ERP", "scopes": ["ncr:read"]}).json()
    shown.append(created["key"])
    shown.append(admin_api.post(f"/api/api-keys/{created['id']}/rotate/", {}).json()["key"])
    hook = admin_api.post(
        "/api/webhooks/",
        {"name": "ERP", "url": "http://127.0.0.1:9/hook", "events": ["ncr.created"]},
    ).json()
    shown.append(hook["secret"])
    regenerated = admin_api.post(f"/api/webhooks/{hook['id']}/regenerate-secret/", {}).json()
    shown.append(regenerated["secret"])
    admin_api.post(
        "/api/sync/connections/",
        {
            "name": "ERP",
            "kind": "postgresql",
            "host": "erp.example",
            "database": "erp",
            "username": "sync",
            "password": "pg-Passw0rd-never-logged",
        },
    )
    shown.append("pg-Passw0rd-never-logged")

    logging.getLogger("probe").debug("the capture runs at DEBUG")
    log = debug_log()

    assert all(shown) and len(shown) == 5
    assert "the capture runs at DEBUG" in log
    for secret in shown:
        assert secret not in log


def test_keys_and_secrets_shown_once_in_the_admin_never_reach_the_log_at_debug(
    admin_client, debug_log, settings
):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    page = admin_client.post(
        "/admin/apikeys/apikey/add/",
        {
            "name": "SAP",
            "description": "",
            "scopes": ["ncr:read"],
            "allowed_networks": "",
            "expires_at_0": "",
            "expires_at_1": "",
            "rate_limit_per_minute": "",
        },
        follow=True,
    ).content.decode()
    admin_client.post(
        "/admin/webhooks/webhooksubscription/add/",
        {
            "name": "ERP",
            "url": "http://127.0.0.1:9/hook",
            "events": ["ncr.created"],
            "is_active": "on",
            "retry_enabled": "on",
            "max_retries": "5",
            "retry_delay_seconds": "60",
            "custom_headers": "{}",
        },
        follow=True,
    )
    csrf = admin_client.cookies["csrftoken"].value
    shown = [*KEY.findall(page), *subscription_secrets(), csrf]

    log = debug_log()

    assert len(shown) == 3
    for secret in shown:
        assert secret not in log


def test_the_log_filter_masks_secret_shapes_whichever_logger_writes_them(debug_log):
    key = "eqms_AbCdEfGhIjKl_" + "x" * 43 + "Zz0123"
    logging.getLogger("some.library").debug("sent %s with whsec_c2VjcmV0LXNlY3JldA==", key)
    logging.getLogger("urllib3.connectionpool").warning("headers {'Authorization': 'Bearer t0k3n'}")

    log = debug_log()

    assert key not in log and "whsec_c2VjcmV0" not in log and "t0k3n" not in log
    assert log.count("[redacted]") == 3
    assert redact("X-API-Key: abc") == "X-API-Key: [redacted]"


def test_api_answers_that_carry_a_key_or_secret_may_not_be_stored_by_any_cache(admin_api, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    key = admin_api.post("/api/api-keys/", {"name": "ERP", "scopes": ["ncr:read"]})
    rotated = admin_api.post(f"/api/api-keys/{key.json()['id']}/rotate/", {})
    hook = admin_api.post(
        "/api/webhooks/",
        {"name": "ERP", "url": "http://127.0.0.1:9/hook", "events": ["ncr.created"]},
    )
    regenerated = admin_api.post(f"/api/webhooks/{hook.json()['id']}/regenerate-secret/", {})
    listing = admin_api.get("/api/ncrs/")

    for response in (key, rotated, hook, regenerated, listing):
        assert response.status_code in (200, 201)
        assert "no-store" in response["Cache-Control"]
