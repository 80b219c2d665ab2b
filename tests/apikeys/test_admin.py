"""API keys in the Django admin: the key is shown once; revoke and rotate actions; filters."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
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
        "name": "SAP",
        "description": "",
        "scopes": ["ncr:read", "capa:read"],
        "allowed_networks": "10.0.0.0/8\n2001:db8::/32",
        "expires_at_0": "",
        "expires_at_1": "",
        "rate_limit_per_minute": "",
        **overrides,
    }


SHOWN = re.compile(r'class="vLargeTextField shown-once-secret"[^>]*value="([^"]+)"', re.S)


def shown_keys(response) -> list[str]:
    return SHOWN.findall(response.content.decode())


def test_adding_a_key_redirects_to_a_page_that_shows_it_once(admin_client):
    response = admin_client.post("/admin/apikeys/apikey/add/", add_form())

    key = APIKey.objects.get()
    assert response.status_code == 302 and "/admin/apikeys/apikey/issued/" in response["Location"]
    stored = json.dumps(dict(admin_client.session.items()))
    assert f"eqms_{key.key_id}_" not in stored  # the session holds it encrypted only
    shown = admin_client.get(response["Location"])
    again = admin_client.get(response["Location"])

    [full_key] = shown_keys(shown)
    assert full_key.startswith(f"eqms_{key.key_id}_") and "Copy" in shown.content.decode()
    assert "no-store" in shown["Cache-Control"]
    assert shown_keys(again) == [] and "Nothing to show" in again.content.decode()
    assert "no-store" in again["Cache-Control"]
    assert APIKey.objects.count() == 1  # the reload created nothing
    assert key.allowed_networks == ["10.0.0.0/8", "2001:db8::/32"]
    change_page = admin_client.get(f"/admin/apikeys/apikey/{key.pk}/change/").content.decode()
    assert key.secret_hash in change_page  # read-only
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


def test_revoking_selected_keys_asks_for_a_reason_first(admin_client):
    issued = services.apikey_create(name="ERP", scopes=["*"])
    chosen = {"action": "revoke_selected", "_selected_action": [issued.api_key.pk]}

    asked = admin_client.post("/admin/apikeys/apikey/", chosen)
    no_reason = admin_client.post("/admin/apikeys/apikey/", {**chosen, "confirmed": "yes"})
    assert APIKey.objects.get(pk=issued.api_key.pk).state == "active"
    done = admin_client.post(
        "/admin/apikeys/apikey/",
        {**chosen, "confirmed": "yes", "reason": "plant closed"},
        follow=True,
    )

    assert 'name="reason"' in asked.content.decode() and "Revoke API keys" in asked.content.decode()
    assert "This field is required" in no_reason.content.decode()
    assert "Revoked 1 key." in done.content.decode()
    key = APIKey.objects.get(pk=issued.api_key.pk)
    assert key.state == "revoked" and key.revoked_by.username == "boss"
    assert key.revocation_reason == "plant closed"


def test_the_revoke_button_confirms_with_a_required_reason_and_records_it(admin_client):
    key = services.apikey_create(name="ERP", scopes=["*"]).api_key
    url = f"/admin/apikeys/apikey/{key.pk}/revoke/"

    change_page = admin_client.get(f"/admin/apikeys/apikey/{key.pk}/change/").content.decode()
    confirm = admin_client.get(url).content.decode()
    refused = admin_client.post(url, {"reason": ""})
    done = admin_client.post(url, {"reason": "leaked in a build log"})

    assert f'href="{url}"' in change_page
    assert (
        "Revoke ERP" in confirm and 'name="reason"' in confirm and "csrfmiddlewaretoken" in confirm
    )
    assert refused.status_code == 200 and "This field is required" in refused.content.decode()
    assert done.status_code == 302 and done["Location"].endswith(f"/apikey/{key.pk}/change/")
    key.refresh_from_db()
    assert key.state == "revoked" and key.revocation_reason == "leaked in a build log"
    assert key.events.get(event_type="revoked").details == {"reason": "leaked in a build log"}
    after = admin_client.get(f"/admin/apikeys/apikey/{key.pk}/change/").content.decode()
    assert f'href="{url}"' not in after  # nothing left to revoke
    assert "already revoked" in admin_client.get(url).content.decode()


def test_the_confirmation_post_needs_the_csrf_token(admin_client):
    key = services.apikey_create(name="ERP", scopes=["*"]).api_key
    strict = Client(enforce_csrf_checks=True)
    strict.login(username="boss", password="pw-12345678")

    response = strict.post(f"/admin/apikeys/apikey/{key.pk}/revoke/", {"reason": "x"})

    assert response.status_code == 403
    assert APIKey.objects.get(pk=key.pk).state == "active"


def test_a_person_who_may_only_read_keys_gets_no_revoke_button_and_a_403(client):
    key = services.apikey_create(name="ERP", scopes=["*"]).api_key
    auditor = get_user_model().objects.create_user("auditor", password="pw-12345678", is_staff=True)
    auditor.groups.add(Group.objects.get(name="Auditor"))
    client.login(username="auditor", password="pw-12345678")

    page = client.get(f"/admin/apikeys/apikey/{key.pk}/change/").content.decode()
    refused = client.post(f"/admin/apikeys/apikey/{key.pk}/revoke/", {"reason": "x"})

    assert "/revoke/" not in page and refused.status_code == 403
    assert APIKey.objects.get(pk=key.pk).state == "active"


def test_the_rotate_button_shows_the_successor_once_and_the_grace_decides_the_old_key(
    admin_client,
):
    key = services.apikey_create(name="ERP", scopes=["*"]).api_key

    response = admin_client.post(f"/admin/apikeys/apikey/{key.pk}/rotate/", {"grace_hours": "0"})
    shown = admin_client.get(response["Location"])
    reloaded = admin_client.get(response["Location"])

    new = APIKey.objects.get(rotated_from=key)
    assert shown_keys(shown)[0].startswith(f"eqms_{new.key_id}_")
    assert shown_keys(reloaded) == [] and APIKey.objects.count() == 2
    assert APIKey.objects.get(pk=key.pk).state == "revoked"  # no grace


def test_rotating_selected_keys_asks_for_the_grace_and_shows_each_new_key_once(admin_client):
    keys = [services.apikey_create(name=name, scopes=["*"]).api_key for name in ("A", "B")]
    chosen = {"action": "rotate_selected", "_selected_action": [k.pk for k in keys]}

    asked = admin_client.post("/admin/apikeys/apikey/", chosen)
    response = admin_client.post(
        "/admin/apikeys/apikey/", {**chosen, "confirmed": "yes", "grace_hours": "24"}
    )
    shown = shown_keys(admin_client.get(response["Location"]))

    assert 'name="grace_hours"' in asked.content.decode()
    new_ids = set(APIKey.objects.filter(rotated_from__in=keys).values_list("key_id", flat=True))
    assert len(shown) == 2 and {key.split("_")[1] for key in shown} == new_ids
    assert all(APIKey.objects.get(pk=k.pk).state == "active" for k in keys)  # 24 h of grace


def test_the_state_filter_finds_active_expired_revoked_and_unused_keys(admin_client):
    active = services.apikey_create(name="active-key", scopes=["*"]).api_key
    expired = services.apikey_create(name="expired-key", scopes=["*"]).api_key
    APIKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    revoked = services.apikey_revoke(
        key=services.apikey_create(name="revoked-key", scopes=["*"]).api_key, reason="test"
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


def test_key_events_show_the_name_of_their_key_also_once_it_is_deleted(admin_client):
    kept = services.apikey_create(name="SAP production", scopes=["*"]).api_key
    gone = services.apikey_create(name="Old MES", scopes=["*"]).api_key
    services.apikey_delete(key=gone)

    page = admin_client.get("/admin/apikeys/apikeyevent/").content.decode()

    assert "SAP production" in page and "Old MES (deleted)" in page
    assert kept.key_id in page


def test_revoking_several_keys_says_how_many_in_the_plural(admin_client):
    keys = [services.apikey_create(name=f"K{n}", scopes=["*"]).api_key.pk for n in range(2)]

    response = admin_client.post(
        "/admin/apikeys/apikey/",
        {
            "action": "revoke_selected",
            "_selected_action": keys,
            "confirmed": "yes",
            "reason": "line closed",
        },
        follow=True,
    )

    assert "Revoked 2 keys." in response.content.decode()
