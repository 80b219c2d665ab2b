"""The pages that show a secret once keep it out of every log, at DEBUG too: the template
engine's debug records of the page's context print the secret's redacted repr."""

from __future__ import annotations

import logging
import re

import pytest
from django.contrib.auth import get_user_model

from apikeys.models import APIKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def debug_log(caplog):
    """Everything logged at DEBUG, the `django` logger (which does not propagate) included."""
    django_logger = logging.getLogger("django")
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")
    # The service's logging holds django.template at INFO (logconfig.py); open it up here to
    # show that the page context it would print holds only the redacted form.
    caplog.set_level(logging.DEBUG, logger="django.template")
    django_logger.addHandler(caplog.handler)
    yield caplog
    django_logger.removeHandler(caplog.handler)


def test_creating_and_rotating_a_key_in_the_admin_logs_no_secret_at_debug(client, debug_log):
    get_user_model().objects.create_superuser("boss", password="pw-12345678")
    client.login(username="boss", password="pw-12345678")

    created = client.post(
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
    )
    first = client.get(created["Location"]).content.decode()
    key = APIKey.objects.get()
    rotated = client.post(f"/admin/apikeys/apikey/{key.pk}/rotate/", {"grace_hours": "1"})
    second = client.get(rotated["Location"]).content.decode()

    shown = re.findall(r'value="(eqms_[^"]+)"', first + second)
    assert len(shown) == 2
    assert any(record.name.startswith("django.template") for record in debug_log.records)
    for secret in shown:
        assert secret not in debug_log.text
