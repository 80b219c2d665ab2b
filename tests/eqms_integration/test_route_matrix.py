"""Deny by default, for every route of the API: each method of each endpoint declares the Django
permission it needs, and each role gets exactly that (403 otherwise, 401 with no login).

The routes are read from the URL configuration, so an endpoint added later is covered without
touching this file. The quality endpoints are also checked role by role with real objects in
test_roles.py; here the object ids do not exist, so an allowed request answers 404, 400 or
2xx, never 401 or 403.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient
from rest_framework.views import APIView

pytestmark = pytest.mark.django_db

ROLES = ("superuser", "Admin", "Manager", "Auditor", "", None)
GROUP = re.compile(r"\(\?P<[a-z_]+>[^)]*\)")
# Readable before an integrator has a key, on purpose: the schema, its docs, the index.
PUBLIC = {"api/schema/", "api/docs/", "api/"}


def _concrete(regex: str) -> str:
    path = GROUP.sub("999999", regex.lstrip("^").rstrip("$"))
    return path.replace("/?", "/").replace("\\.", ".")


def _walk(patterns, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        regex = prefix + pattern.pattern.regex.pattern.lstrip("^")
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, regex.rstrip("$"))
        else:
            yield regex, pattern


def api_routes() -> list[tuple[str, str, type[APIView], str]]:
    """(method, concrete path, view class, action) for every method of every API endpoint."""
    routes = []
    for regex, pattern in _walk(get_resolver().url_patterns):
        view = getattr(pattern.callback, "cls", None)
        path = "/" + _concrete(regex)
        if view is None or "format" in regex or not path.startswith("/api/") or path[1:] in PUBLIC:
            continue
        actions = getattr(pattern.callback, "actions", None) or {
            method: method for method in view.http_method_names if hasattr(view, method)
        }
        for method, action in actions.items():
            if method not in ("options", "head"):
                routes.append((method, path, view, action))
    return sorted({(m, p, v, a) for m, p, v, a in routes}, key=lambda r: (r[1], r[0]))


ROUTES = api_routes()


def test_the_route_walk_finds_the_endpoints_of_every_app():
    paths = {path for _, path, _, _ in ROUTES}

    expected = {
        "/api/ncrs/",
        "/api/api-keys/999999/rotate/",
        "/api/webhooks/",
        "/api/sync/configurations/999999/execute/",
        "/api/sync/conflicts/",
    }
    assert expected <= paths
    assert len(ROUTES) > 60


@pytest.mark.parametrize(
    ("method", "path", "view", "action"), ROUTES, ids=[f"{r[0]} {r[1]}" for r in ROUTES]
)
def test_every_method_of_every_endpoint_declares_a_permission(method, path, view, action):
    declared = getattr(view, "required_permissions", {})

    assert action in declared, f"{view.__name__} declares no permission for {action!r}"


@pytest.mark.parametrize(
    ("method", "path", "view", "action"), ROUTES, ids=[f"{r[0]} {r[1]}" for r in ROUTES]
)
def test_each_role_is_let_through_exactly_when_it_holds_the_declared_permission(
    make_user, method, path, view, action
):
    perm = getattr(view, "required_permissions", {}).get(action)
    for role in ROLES:
        client = APIClient()
        if role is not None:
            user = make_user(
                f"u-{role or 'none'}", role=role or None, superuser=role == "superuser"
            )
            client.force_authenticate(user)
        allowed = role is not None and (user.is_superuser or user.has_perm(perm))

        response = getattr(client, method)(path, {}, format="json")

        if role is None:
            assert response.status_code == 401, (role, response.status_code)
        elif allowed:
            assert response.status_code not in (401, 403), (role, response.status_code)
        else:
            assert response.status_code == 403, (role, response.status_code)
            assert response.json()["code"] == "permission_denied"
