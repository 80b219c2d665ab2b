"""Managing keys through the REST API (Admin role, session)."""

from __future__ import annotations

from datetime import timedelta

import bcrypt
import pytest
from django.utils import timezone

from apikeys.models import APIKey, APIKeyEvent

pytestmark = pytest.mark.django_db


def create(api, **overrides):
    body = {"name": "SAP ERP", "scopes": ["ncr:read", "equipment:write"], **overrides}
    return api.post("/api/api-keys/", body, format="json")


def test_creating_a_key_returns_it_once_and_stores_only_a_bcrypt_hash(admin_api):
    response = create(admin_api, allowed_networks=["10.0.0.0/8"], rate_limit_per_minute=600)

    assert response.status_code == 201, response.json()
    data = response.json()
    key = APIKey.objects.get(pk=data["id"])
    assert data["key"].startswith(f"eqms_{key.key_id}_")
    secret = data["key"].split("_")[2][:-6]
    assert bcrypt.checkpw(secret.encode(), key.secret_hash.encode())
    assert data["key"] not in str(APIKey.objects.filter(pk=key.pk).values().get())
    assert (data["scopes"], data["allowed_networks"], data["state"]) == (
        ["ncr:read", "equipment:write"],
        ["10.0.0.0/8"],
        "active",
    )
    assert "secret_hash" not in data
    assert APIKeyEvent.objects.get(api_key=key).event_type == "created"


def test_list_and_detail_never_show_the_key_or_its_hash(admin_api):
    created = create(admin_api).json()

    listed = admin_api.get("/api/api-keys/").json()["results"][0]
    detail = admin_api.get(f"/api/api-keys/{created['id']}").json()

    for shown in (listed, detail):
        assert "key" not in shown and "secret_hash" not in shown
        assert created["key"] not in str(shown)
        assert shown["key_preview"] == created["key_preview"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"allowed_networks": ["10.0.0.0/33"]}, "allowed_networks"),
        ({"allowed_networks": ["not-an-ip"]}, "allowed_networks"),
        ({"scopes": ["ncr:delete"]}, "scopes"),
        ({"scopes": []}, "scopes"),
        ({"expires_at": (timezone.now() - timedelta(minutes=1)).isoformat()}, "expires_at"),
        ({"name": "n" * 101}, "name"),
        ({"name": "   "}, "name"),
        ({"rate_limit_per_minute": 0}, "rate_limit_per_minute"),
        ({"rate_limit_per_minute": 10**15}, "rate_limit_per_minute"),
        ({"expires_at": "9999-12-31T23:59:59-14:00"}, "expires_at"),  # past year 9999 in UTC
        ({"expires_at": "100000000-01-01T00:00:00Z"}, "expires_at"),
    ],
)
def test_bad_key_settings_get_a_400_naming_the_field(admin_api, overrides, field):
    response = create(admin_api, **overrides)

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert APIKey.objects.count() == 0


@pytest.mark.parametrize("role", ["Manager", "Auditor", ""])
def test_only_the_admin_role_manages_keys(client_for, role):
    client = client_for(role)

    assert client.get("/api/api-keys/").status_code == 403
    assert create(client).status_code == 403


def test_revoking_records_who_and_why_and_a_second_revoke_is_refused(admin_api):
    created = create(admin_api).json()

    revoked = admin_api.post(
        f"/api/api-keys/{created['id']}/revoke/", {"reason": "leaked"}, format="json"
    )
    again = admin_api.post(
        f"/api/api-keys/{created['id']}/revoke/", {"reason": "again"}, format="json"
    )

    assert revoked.status_code == 200
    assert (revoked.json()["state"], revoked.json()["revocation_reason"]) == ("revoked", "leaked")
    assert revoked.json()["revoked_by"] == "user-Admin"
    assert again.status_code == 400
    event = APIKeyEvent.objects.get(event_type="revoked")
    assert event.actor_repr == "user-Admin" and event.ip == "127.0.0.1"


def test_rotating_returns_a_new_key_once_and_limits_the_old_one_to_the_grace(admin_api):
    created = create(admin_api).json()

    rotated = admin_api.post(
        f"/api/api-keys/{created['id']}/rotate/", {"grace_period_seconds": 600}, format="json"
    )

    assert rotated.status_code == 201
    new = rotated.json()
    assert new["key"] != created["key"] and new["rotated_from"] == created["key_id"]
    old = APIKey.objects.get(pk=created["id"])
    assert timedelta(seconds=590) < old.expires_at - timezone.now() <= timedelta(seconds=600)
    assert set(APIKeyEvent.objects.values_list("event_type", flat=True)) == {"created", "rotated"}


def test_rotating_without_a_grace_period_keeps_the_old_key_for_24_hours(admin_api):
    created = create(admin_api).json()

    rotated = admin_api.post(f"/api/api-keys/{created['id']}/rotate/", {}, format="json")

    assert rotated.status_code == 201
    old = APIKey.objects.get(pk=created["id"])
    assert old.state == "active"
    left = old.expires_at - timezone.now()
    assert timedelta(hours=24) - timedelta(seconds=10) < left <= timedelta(hours=24)
    event = APIKeyEvent.objects.get(event_type="rotated")
    assert event.details["grace_period_seconds"] == 86400


@pytest.mark.parametrize("grace", [-1, "soon", 31 * 24 * 3600, 10**15])
def test_a_bad_grace_period_is_a_400(admin_api, grace):
    created = create(admin_api).json()

    response = admin_api.post(
        f"/api/api-keys/{created['id']}/rotate/", {"grace_period_seconds": grace}, format="json"
    )

    assert response.status_code == 400
    assert "grace_period_seconds" in response.json()["errors"]


def test_a_revoked_key_cannot_be_rotated(admin_api):
    created = create(admin_api).json()
    admin_api.post(f"/api/api-keys/{created['id']}/revoke/", {"reason": "x"}, format="json")

    response = admin_api.post(f"/api/api-keys/{created['id']}/rotate/", {}, format="json")

    assert response.status_code == 400
    assert APIKey.objects.count() == 1


def test_changing_scopes_bumps_the_generation_and_is_audited(admin_api):
    created = create(admin_api).json()
    before = APIKey.objects.get(pk=created["id"]).generation

    response = admin_api.patch(
        f"/api/api-keys/{created['id']}/", {"scopes": ["capa:read"]}, format="json"
    )
    renamed = admin_api.patch(f"/api/api-keys/{created['id']}/", {"name": "MES"}, format="json")

    assert response.status_code == 200 and renamed.status_code == 200
    key = APIKey.objects.get(pk=created["id"])
    assert key.scopes == ["capa:read"] and key.name == "MES"
    assert key.generation == before + 1  # the rename does not affect verification
    changes = [e.details["changed"] for e in APIKeyEvent.objects.filter(event_type="updated")]
    assert sorted(changes) == [["name"], ["scopes"]]


def test_deleting_a_key_keeps_its_audit_trail(admin_api):
    created = create(admin_api).json()

    response = admin_api.delete(f"/api/api-keys/{created['id']}/")

    assert response.status_code == 204
    assert not APIKey.objects.exists()
    assert list(
        APIKeyEvent.objects.filter(key_id=created["key_id"]).values_list("event_type", flat=True)
    ) == ["deleted", "created"]


def test_the_events_endpoint_lists_a_keys_audit_trail_newest_first(admin_api):
    created = create(admin_api).json()
    admin_api.post(f"/api/api-keys/{created['id']}/revoke/", {"reason": "x"}, format="json")

    events = admin_api.get(f"/api/api-keys/{created['id']}/events/").json()["results"]

    assert [e["event_type"] for e in events] == ["revoked", "created"]
    assert events[0]["actor"] == "user-Admin" and events[0]["details"] == {"reason": "x"}


def test_audit_events_are_append_only():
    event = APIKeyEvent.objects.create(key_id="abc", event_type="created")

    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()


def test_the_audit_trail_of_a_deleted_key_stays_listed_by_key_id(admin_api):
    deleted = create(admin_api).json()
    kept = create(admin_api, name="MES").json()
    assert admin_api.delete(f"/api/api-keys/{deleted['id']}/").status_code == 204

    by_key = admin_api.get("/api/api-key-events/", {"key_id": deleted["key_id"]})
    created = admin_api.get("/api/api-key-events/", {"event_type": "created"}).json()

    assert by_key.status_code == 200
    assert by_key.json()["count"] == 2
    events = by_key.json()["results"]
    assert [(e["key_id"], e["event_type"]) for e in events] == [
        (deleted["key_id"], "deleted"),
        (deleted["key_id"], "created"),
    ]
    assert events[0]["actor"] == "user-Admin" and events[0]["details"] == {"name": "SAP ERP"}
    assert [e["key_id"] for e in created["results"]] == [kept["key_id"], deleted["key_id"]]
    assert admin_api.post("/api/api-key-events/", {}, format="json").status_code == 405


@pytest.mark.parametrize("role", ["Manager", "Auditor", ""])
def test_only_the_admin_role_reads_the_audit_trail_of_all_keys(client_for, role):
    assert client_for(role).get("/api/api-key-events/").status_code == 403


def test_keys_cannot_read_the_audit_trail_even_with_the_wildcard(issue_key, key_client):
    response = key_client(issue_key(["*"]).key).get("/api/api-key-events/")

    assert response.status_code == 403
    assert response.json()["message"] == "API keys cannot use this endpoint."
