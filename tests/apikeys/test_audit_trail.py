"""API keys in the audit trail: created, updated (old -> new), rotated (secret_rotated),
revoked (with its required reason), deleted; never a secret. Users' group changes too."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from apikeys.models import APIKey
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def key_events(pk) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type="api_key", object_id=str(pk)).order_by("id"))


def everything_recorded() -> str:
    return json.dumps(
        list(AuditEvent.objects.values("changes", "reason", "object_repr")), default=str
    )


def test_a_key_created_changed_rotated_revoked_and_deleted_through_rest_is_in_the_trail(
    admin_api,
):
    created = admin_api.post(
        "/api/api-keys/", {"name": "SAP", "scopes": ["ncr:read"]}, format="json"
    ).json()
    pk = created["id"]
    admin_api.patch(f"/api/api-keys/{pk}/", {"scopes": ["ncr:read", "capa:read"]}, format="json")
    rotated = admin_api.post(f"/api/api-keys/{pk}/rotate/", {}, format="json").json()
    admin_api.post(f"/api/api-keys/{pk}/revoke/", {"reason": "leaked"}, format="json")
    admin_api.delete(f"/api/api-keys/{pk}/")

    trail = key_events(pk)
    assert [e.action for e in trail] == [
        "created",
        "updated",
        "secret_rotated",
        "revoked",
        "deleted",
    ]
    assert {(e.channel, e.actor_type, e.actor_name) for e in trail} == {
        ("api", "user", "user-Admin")
    }
    create, update, rotate, revoke, delete = trail
    assert create.object_repr == f"SAP ({created['key_id']})"
    assert create.changes["scopes"] == [None, ["ncr:read"]]
    assert update.changes == {"scopes": [["ncr:read"], ["ncr:read", "capa:read"]]}
    assert rotate.changes["successor_key_id"] == [None, rotated["key_id"]]
    assert rotate.changes["expires_at"][0] is None and rotate.changes["expires_at"][1]
    assert revoke.reason == "leaked" and revoke.changes["is_active"] == [True, False]
    assert delete.changes["name"] == ["SAP", None]
    successor = APIKey.objects.get(key_id=rotated["key_id"])
    assert key_events(successor.pk)[0].changes["rotated_from"] == [None, created["key_id"]]
    recorded = everything_recorded()
    assert created["key"] not in recorded and rotated["key"] not in recorded
    assert "secret_hash" not in recorded and "$2b$" not in recorded


def test_a_revoke_without_a_reason_is_refused_everywhere(admin_api):
    created = admin_api.post("/api/api-keys/", {"name": "SAP", "scopes": ["*"]}, format="json")
    pk = created.json()["id"]

    by_rest = admin_api.post(f"/api/api-keys/{pk}/revoke/", {}, format="json")
    blank = admin_api.post(f"/api/api-keys/{pk}/revoke/", {"reason": "  "}, format="json")

    assert by_rest.status_code == 400 and "reason" in by_rest.json()["errors"]
    assert blank.status_code == 400 and "reason" in blank.json()["errors"]
    assert APIKey.objects.get(pk=pk).state == "active"
    assert [e.action for e in key_events(pk)] == ["created"]


def test_a_key_revoked_by_the_command_names_the_command_and_its_reason(admin_api):
    created = admin_api.post("/api/api-keys/", {"name": "SAP", "scopes": ["*"]}, format="json")
    key = created.json()

    call_command("revoke_api_key", key["key_id"], "--reason", "decommissioned", stdout=None)

    revoke = key_events(key["id"])[-1]
    assert (revoke.action, revoke.channel, revoke.actor_type) == ("revoked", "command", "system")
    assert "manage.py revoke_api_key" in revoke.actor_name
    assert revoke.reason == "decommissioned"


def test_the_key_history_page_in_the_admin_shows_its_trail(admin_api, client):
    created = admin_api.post("/api/api-keys/", {"name": "SAP", "scopes": ["*"]}, format="json")
    get_user_model().objects.create_superuser("boss", password="pw-12345678")
    client.login(username="boss", password="pw-12345678")

    page = client.get(f"/admin/apikeys/apikey/{created.json()['id']}/history/").content.decode()

    assert page.count('class="audit-event"') == 1 and "user-Admin" in page


def test_group_changes_in_the_user_admin_are_recorded_old_to_new(client):
    get_user_model().objects.create_superuser("boss", password="pw-12345678")
    clerk = get_user_model().objects.create_user("clerk", password="pw-12345678")
    auditor, manager = Group.objects.get(name="Auditor"), Group.objects.get(name="Manager")
    clerk.groups.add(auditor)
    client.login(username="boss", password="pw-12345678")
    form = {
        "username": "clerk",
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "groups": [manager.pk],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }

    response = client.post(f"/admin/auth/user/{clerk.pk}/change/", form)
    again = client.post(f"/admin/auth/user/{clerk.pk}/change/", form)

    assert response.status_code == 302 and again.status_code == 302
    assert list(clerk.groups.values_list("name", flat=True)) == ["Manager"]
    (event,) = AuditEvent.objects.filter(object_type="user", object_id=str(clerk.pk))
    assert (event.action, event.object_repr, event.channel) == ("groups_changed", "clerk", "admin")
    assert (event.actor_type, event.actor_name) == ("user", "boss")
    assert event.changes == {"groups": [["Auditor"], ["Manager"]]}
    history = client.get(f"/admin/auth/user/{clerk.pk}/history/").content.decode()
    assert history.count('class="audit-event"') == 1


def test_access_changes_in_the_user_admin_beyond_groups_are_recorded_too(client):
    from django.contrib.auth.models import Permission

    get_user_model().objects.create_superuser("boss", password="pw-12345678")
    clerk = get_user_model().objects.create_user("clerk", password="pw-12345678")
    delete_key = Permission.objects.get(codename="delete_apikey")
    client.login(username="boss", password="pw-12345678")
    form = {
        "username": "clerk",
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "is_staff": "on",
        "is_superuser": "on",
        "user_permissions": [delete_key.pk],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }

    response = client.post(f"/admin/auth/user/{clerk.pk}/change/", form)
    again = client.post(f"/admin/auth/user/{clerk.pk}/change/", form)
    deleted = client.post(f"/admin/auth/user/{clerk.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302 and again.status_code == 302 and deleted.status_code == 302
    events = list(
        AuditEvent.objects.filter(object_type="user", object_id=str(clerk.pk)).order_by("id")
    )
    assert [(e.action, e.channel, e.actor_name) for e in events] == [
        ("updated", "admin", "boss"),
        ("deleted", "admin", "boss"),
    ]
    assert events[0].changes == {
        "is_staff": [False, True],
        "is_superuser": [False, True],
        "user_permissions": [[], ["apikeys.delete_apikey"]],
    }
    assert "pw-12345678" not in everything_recorded() and "pbkdf2" not in everything_recorded()


def test_a_roles_permissions_changed_or_a_group_deleted_in_the_admin_are_recorded(client):
    from django.contrib.auth.models import Permission

    get_user_model().objects.create_superuser("boss", password="pw-12345678")
    group = Group.objects.create(name="Line leads")
    group.permissions.add(Permission.objects.get(codename="view_ncr"))
    change_key = Permission.objects.get(codename="change_apikey")
    client.login(username="boss", password="pw-12345678")
    form = {"name": "Line leads", "permissions": [change_key.pk]}

    changed = client.post(f"/admin/auth/group/{group.pk}/change/", form)
    again = client.post(f"/admin/auth/group/{group.pk}/change/", form)
    deleted = client.post(f"/admin/auth/group/{group.pk}/delete/", {"post": "yes"})

    assert (changed.status_code, again.status_code, deleted.status_code) == (302, 302, 302)
    events = list(AuditEvent.objects.filter(object_type="group").order_by("id"))
    assert [(e.action, e.object_id, e.object_repr, e.actor_name) for e in events] == [
        ("updated", str(group.pk), "Line leads", "boss"),
        ("deleted", str(group.pk), "Line leads", "boss"),
    ]
    assert events[0].changes == {"permissions": [["quality.view_ncr"], ["apikeys.change_apikey"]]}


def test_a_password_changed_on_the_admin_password_page_is_recorded_without_the_password(client):
    get_user_model().objects.create_superuser("boss", password="pw-12345678")
    clerk = get_user_model().objects.create_user("clerk", password="pw-12345678")
    client.login(username="boss", password="pw-12345678")
    new_password = "Ne3w-passphrase-for-clerk"

    response = client.post(
        f"/admin/auth/user/{clerk.pk}/password/",
        {"password1": new_password, "password2": new_password, "usable_password": "true"},
    )

    assert response.status_code == 302
    clerk.refresh_from_db()
    assert clerk.check_password(new_password)
    (event,) = AuditEvent.objects.filter(object_type="user", object_id=str(clerk.pk))
    assert (event.action, event.channel, event.actor_name) == ("password_changed", "admin", "boss")
    assert event.changes == {"password": ["[secret]", "[changed]"]}
    stored = json.dumps([event.changes, event.object_repr, event.reason])
    assert new_password not in stored and clerk.password not in stored
