"""Authorization: every view names the permission each action needs; anything else is denied."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

# DRF's names for the actions of a viewset, grouped by the Django permission they usually need.
READ_ACTIONS = ("list", "retrieve")
WRITE_ACTIONS = ("update", "partial_update")


def model_permissions(
    app_label: str, model_name: str, *, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The usual map for a model viewset without delete: view for reads, add, change; plus extras
    such as {"close": "quality.close_ncr"}."""
    perms = {action: f"{app_label}.view_{model_name}" for action in READ_ACTIONS}
    perms["create"] = f"{app_label}.add_{model_name}"
    perms.update({action: f"{app_label}.change_{model_name}" for action in WRITE_ACTIONS})
    perms.update(extra or {})
    return perms


def resource_scopes(resource: str, *, extra: dict[str, str] | None = None) -> dict[str, str]:
    """API-key scopes for a resource: `<resource>:read` for reads, `<resource>:write` for
    create/update, plus extras such as {"close": "ncr:write"}. Checked for API-key requests."""
    scopes = {action: f"{resource}:read" for action in READ_ACTIONS}
    scopes.update({action: f"{resource}:write" for action in ("create", *WRITE_ACTIONS)})
    scopes.update(extra or {})
    return scopes


def _declared(view: Any, request: Request, attribute: str) -> str | None:
    """What the view declares in `attribute` for this request, or None (undeclared: denied)."""
    declared: dict[str, str] = getattr(view, attribute, {})
    action = getattr(view, "action", None) or request.method.lower()
    if action == "metadata":  # OPTIONS describes the endpoint: the read permission suffices
        action = "list" if "list" in declared else "retrieve"
    return declared.get(action)


def required_permission(view: Any, request: Request) -> str | None:
    return _declared(view, request, "required_permissions")


def required_scope(view: Any, request: Request) -> str | None:
    return _declared(view, request, "required_scopes")


def request_may(request: Request, *, permission: str | None, scope: str | None) -> bool:
    """Whether the request's principal holds `scope` (an API key) or `permission` (a user;
    superusers hold every one). None: nobody of that kind may. A plain Django request (the
    admin) has no `auth`: its user's permissions decide."""
    has_scope = getattr(getattr(request, "auth", None), "has_scope", None)
    if has_scope is not None:
        return scope is not None and has_scope(scope)
    user = request.user
    if permission is None or not (user and user.is_authenticated):
        return False
    return user.is_superuser or user.has_perm(permission)


class ActionPermission(BasePermission):
    """Default permission class of the API.

    Views declare, keyed by viewset action (or lower-case HTTP method for plain views),
    `required_permissions = {"list": "quality.view_ncr", …}` for users and
    `required_scopes = {"list": "ncr:read", …}` for API keys. Superusers pass; users need the
    Django permission (normally through a role group), keys the scope. Undeclared: denied.
    """

    default_message = "You do not have permission to perform this action."

    def has_permission(self, request: Request, view: Any) -> bool:
        self.message = self.default_message
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if not hasattr(view, request.method.lower()):
            return True  # the view does not offer this method: let DRF answer 405
        has_scope = getattr(request.auth, "has_scope", None)
        if has_scope is not None:  # an API key
            scope = required_scope(view, request)
            if scope is None:
                self.message = "API keys cannot use this endpoint."
                return False
            if not has_scope(scope):
                self.message = f"This API key lacks the scope {scope!r}."
                return False
            return True
        return request_may(request, permission=required_permission(view, request), scope=None)
