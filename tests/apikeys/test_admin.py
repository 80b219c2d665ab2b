"""API keys in the Django admin: the key is shown once; revoke and rotate actions; filters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from apikeys import services
from apikeys.models import APIKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    get_user_model().objects.create_superuser("boss", password="pw-12345678")
    client.login(username="boss", password="pw-12345678")
    return client


def add_form(**overrides):
    return {
        "name": "SAP", "description": "", "scopes": ["ncr:read", "capa:read"],
        "allowed_networks": "10.0.0.0/8\n2001:db8::/32", "expires_at_0": "", "expires_at_1": "",
        "rate_limit_per_minute": "", **overrides,
    }  # fmt: skip


def test_adding_a_key_shows_it_once_on_the_next_page(admin_client):
    response = admin_client.post("/admin/apikeys/apikey/add/", add_form())

    assert response.status_code == 200
    key = APIKey.objects.get()
    page = response.content.decode()
    assert f"eqms_{key.key_id}_" in page and "shown only on this page" in page
    assert "no-store" in response["Cache-Control"]
    assert key.allowed_networks == ["10.0.0.0/8", "2001:db8::/32"]
    change_page = admin_client.get(f"/admin/apikeys/apikey/{key.pk}/change/").content.decode()
    assert key.secret_hash in change_page  # read-only
    full_key = page.split('value="')[1].split('"')[0]
    assert full_key not in change_page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"allowed_networks": "10.0.0.300"}, "Not an IPv4/IPv6 address or CIDR"),
        ({"scopes": []}, "This field is required"),
        ({"expires_at_0": "2001-01-01", "expires_at_1": "00:00"}, "must be in the future"),
    ],
)
def test_bad_values_in_the_add_form_are_shown_next_to_their_field(admin_client, overrides, message):
    response = admin_client.post("/admin/apikeys/apikey/add/", add_form(**overrides))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not APIKey.objects.exists()


def test_the_revoke_action_revokes_the_selected_keys(admin_client):
    issued = services.apikey_create(name="ERP", scopes=["*"])

    response = admin_client.post(
        "/admin/apikeys/apikey/",
        {"action": "revoke_selected", "_selected_action": [issued.api_key.pk]},
        follow=True,
    )

    assert "Revoked 1 key." in response.content.decode()
    key = APIKey.objects.get(pk=issued.api_key.pk)
    assert key.state == "revoked" and key.revoked_by.username == "boss"


def test_the_rotate_action_shows_the_new_key_once(admin_client):
    issued = services.apikey_create(name="ERP", scopes=["*"])

    response = admin_client.post(
        "/admin/apikeys/apikey/",
        {"action": "rotate_selected", "_selected_action": [issued.api_key.pk]},
    )

    new = APIKey.objects.get(rotated_from=issued.api_key)
    assert f"eqms_{new.key_id}_" in response.content.decode()


def test_the_state_filter_finds_active_expired_revoked_and_unused_keys(admin_client):
    active = services.apikey_create(name="active-key", scopes=["*"]).api_key
    expired = services.apikey_create(name="expired-key", scopes=["*"]).api_key
    APIKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    revoked = services.apikey_revoke(
        key=services.apikey_create(name="revoked-key", scopes=["*"]).api_key
    )
    old = services.apikey_create(name="stale-key", scopes=["*"]).api_key
    APIKey.objects.filter(pk=old.pk).update(last_used_at=timezone.now() - timedelta(days=91))
    APIKey.objects.filter(pk=active.pk).update(last_used_at=timezone.now())

    def names(state: str) -> set[str]:
        page = admin_client.get(f"/admin/apikeys/apikey/?state={state}").content.decode()
        return {n for n in ("active-key", "expired-key", "revoked-key", "stale-key") if n in page}

    assert names("active") == {"active-key", "stale-key"}
    assert names("expired") == {"expired-key"}
    assert names("revoked") == {revoked.name}
    assert names("never_used") == {"expired-key", "revoked-key"}
    assert names("unused_90") == {"stale-key"}


def test_audit_events_are_read_only_in_the_admin(admin_client):
    issued = services.apikey_create(name="ERP", scopes=["*"])
    event = issued.api_key.events.get()

    assert admin_client.get("/admin/apikeys/apikeyevent/").status_code == 200
    assert admin_client.get("/admin/apikeys/apikeyevent/add/").status_code == 403
    assert admin_client.post(f"/admin/apikeys/apikeyevent/{event.pk}/delete/").status_code == 403


def test_revoking_several_keys_says_how_many_in_the_plural(admin_client):
    keys = [services.apikey_create(name=f"K{n}", scopes=["*"]).api_key.pk for n in range(2)]

    response = admin_client.post(
        "/admin/apikeys/apikey/", {"action": "revoke_selected", "_selected_action": keys},
        follow=True,
    )  # fmt: skip

    assert "Revoked 2 keys." in response.content.decode()
