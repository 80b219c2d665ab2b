"""The role matrix: who may do what on every API endpoint.

Admin does everything; Manager writes NCR/CAPA and reads master data; Auditor reads;
a user without a role gets 403 and an anonymous client 401.
"""

from __future__ import annotations

import itertools
from io import StringIO

import pytest
from django.contrib.auth.models import Group

from eqms_integration.roles import ROLE_MATRIX
from quality import services

pytestmark = pytest.mark.django_db

READ, WRITE_QUALITY, WRITE_MASTER = "read", "write-quality", "write-master"

ALLOWED = {
    "superuser": {READ, WRITE_QUALITY, WRITE_MASTER},
    "Admin": {READ, WRITE_QUALITY, WRITE_MASTER},
    "Manager": {READ, WRITE_QUALITY},
    "Auditor": {READ},
    "": set(),
    None: set(),
}


def endpoints():
    """(kind, method, path template, body) for every endpoint of the quality API."""
    rows = []
    for resource, body, kind in (
        ("ncrs", {"title": "T", "severity": "minor"}, WRITE_QUALITY),
        ("capas", {"title": "T"}, WRITE_QUALITY),
        ("equipment", {"number": "E-{n}", "name": "N"}, WRITE_MASTER),
        ("suppliers", {"number": "S-{n}", "name": "N"}, WRITE_MASTER),
    ):
        rows += [
            (READ, "get", f"/api/{resource}/", None),
            (READ, "get", f"/api/{resource}/{{id}}/", None),
            (kind, "post", f"/api/{resource}/", body),
            (kind, "put", f"/api/{resource}/{{id}}/", body),
            (
                kind,
                "patch",
                f"/api/{resource}/{{id}}/",
                {"name" if "number" in body else "title": "U"},
            ),
        ]
        if resource in ("ncrs", "capas"):
            rows.append((kind, "post", f"/api/{resource}/{{id}}/close/", None))
    return rows


def existing_ids() -> dict[str, int]:
    return {
        "ncrs": services.ncr_create(title="Existing").pk,
        "capas": services.capa_create(title="Existing").pk,
        "equipment": services.equipment_create(number="E-0", name="Existing").pk,
        "suppliers": services.supplier_create(number="S-0", name="Existing").pk,
    }


@pytest.mark.parametrize(
    ("role", "endpoint"),
    list(itertools.product(ALLOWED, endpoints())),
    ids=lambda v: (
        (v if isinstance(v, str) else repr(v)) if not isinstance(v, tuple) else f"{v[1]} {v[2]}"
    ),
)
def test_each_role_gets_exactly_the_access_of_the_matrix(client_for, role, endpoint):
    kind, method, template, body = endpoint
    ids = existing_ids()
    resource = template.split("/")[2]
    path = template.format(id=ids[resource])
    if body:
        body = {k: v.format(n=1) if isinstance(v, str) else v for k, v in body.items()}

    response = getattr(client_for(role), method)(path, body, format="json")

    if kind in ALLOWED[role]:
        assert response.status_code in (200, 201), (response.status_code, response.json())
    else:
        if role is None:
            assert response.status_code == 401, response.status_code
            assert response.json()["code"] == "not_authenticated"
        else:
            assert response.status_code == 403, response.status_code
            assert response.json()["code"] == "permission_denied"


def test_the_roles_exist_after_migrate_with_the_permissions_of_the_matrix():
    groups = {g.name: g for g in Group.objects.prefetch_related("permissions__content_type")}

    assert set(ROLE_MATRIX) <= set(groups)
    perms = {
        name: {f"{p.content_type.app_label}.{p.codename}" for p in g.permissions.all()}
        for name, g in groups.items()
    }
    assert {"quality.close_ncr", "quality.add_equipment", "auth.change_user"} <= perms["Admin"]
    assert {"quality.close_ncr", "quality.change_capa", "quality.view_supplier"} <= perms["Manager"]
    assert not {"quality.add_equipment", "quality.change_supplier"} & perms["Manager"]
    assert all(p.split(".")[1].startswith("view_") for p in perms["Auditor"])
    assert "quality.view_ncr" in perms["Auditor"]


def test_ensure_roles_repairs_a_role_whose_permissions_were_removed():
    from django.core.management import call_command

    Group.objects.get(name="Auditor").permissions.clear()

    call_command("ensure_roles")

    assert Group.objects.get(name="Auditor").permissions.filter(codename="view_ncr").exists()


def test_a_logged_in_session_user_with_a_role_uses_the_api(client, make_user):
    make_user("auditor", role="Auditor")
    client.login(username="auditor", password="pw-12345678")

    assert client.get("/api/ncrs/").status_code == 200
    assert (
        client.post("/api/ncrs/", {"title": "x"}, content_type="application/json").status_code
        == 403
    )


def test_ensure_roles_records_the_permissions_it_gives_back_to_a_role():
    from django.core.management import call_command

    from audit.models import AuditEvent

    auditor = Group.objects.get(name="Auditor")
    auditor.permissions.remove(*auditor.permissions.filter(codename="view_ncr"))

    call_command("ensure_roles", stdout=StringIO())
    call_command("ensure_roles", stdout=StringIO())  # nothing left to repair: nothing recorded

    (event,) = AuditEvent.objects.filter(object_type="group")
    assert (event.action, event.object_id, event.object_repr) == (
        "updated",
        str(auditor.pk),
        "Auditor",
    )
    assert (event.channel, event.actor_type) == ("command", "system")
    assert event.actor_name.endswith("(manage.py ensure_roles)")
    old, new = event.changes["permissions"]
    assert set(new) - set(old) == {"quality.view_ncr"}
