"""The three roles (Django groups) and the permissions each one holds.

The matrix is the source of truth: the data migration creates the groups from it, and after
every `migrate` the groups are brought back in step with it (later migrations add models and so
permissions). Patterns are shell-style over permission codenames per app. Custom permission
sets belong in groups of your own; these three are managed.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

ADMIN = "Admin"
MANAGER = "Manager"
AUDITOR = "Auditor"

ROLE_MATRIX: dict[str, dict[str, list[str]]] = {
    # Everything the integration layer has, plus user and group management.
    ADMIN: {
        "quality": ["*"],
        "apikeys": ["*"],
        "webhooks": ["*"],
        "sync": ["*"],
        "django_celery_beat": ["*"],
        "auth": ["*"],
        "audit": ["view_*"],  # the trail is read by everyone and written by no one
        "operations": ["view_*"],
    },
    # Writes NCR/CAPA and webhooks, executes syncs and resolves their conflicts, reads the rest.
    MANAGER: {
        "quality": [
            "view_*",
            *("add_ncr", "change_ncr", "close_ncr"),
            *("add_capa", "change_capa", "close_capa"),
        ],
        "webhooks": ["*"],
        "sync": ["view_*", "execute_*", "resolve_*"],
        "django_celery_beat": ["view_*"],
        "audit": ["view_*"],
        "operations": ["view_heartbeat"],
    },
    # Reads.
    AUDITOR: {
        "quality": ["view_*"],
        "webhooks": ["view_*"],
        "sync": ["view_*"],
        "django_celery_beat": ["view_*"],
        "audit": ["view_*"],
        "operations": ["view_heartbeat"],
    },
}


def roles_with(permission: str) -> list[str]:
    """The roles whose matrix grants `permission` ("app_label.codename"), in matrix order."""
    app_label, _, codename = permission.partition(".")
    return [
        role
        for role, rules in ROLE_MATRIX.items()
        if any(fnmatchcase(codename, pattern) for pattern in rules.get(app_label, []))
    ]


def matching_permission_ids(
    permission_model: Any, rules: dict[str, list[str]], using: str = "default"
) -> set[int]:
    rows = (
        permission_model.objects.using(using)
        .filter(content_type__app_label__in=rules)
        .values_list("id", "content_type__app_label", "codename")
    )
    return {
        pk
        for pk, app_label, codename in rows
        if any(fnmatchcase(codename, pattern) for pattern in rules[app_label])
    }


def sync_roles(group_model: Any, permission_model: Any, using: str = "default") -> None:
    """Create the role groups if missing and give each exactly the permissions of the matrix."""
    for role, rules in ROLE_MATRIX.items():
        group, _ = group_model.objects.using(using).get_or_create(name=role)
        wanted = matching_permission_ids(permission_model, rules, using)
        current = set(group.permissions.values_list("id", flat=True))
        if wanted != current:
            group.permissions.set(wanted)


def sync_roles_after_migrate(
    sender: Any, *, apps: Any = None, using: str = "default", **_: Any
) -> None:
    if apps is None:  # `flush` (transactional tests) sends the signal without migration state
        from django.apps import apps
    try:
        group_model = apps.get_model("auth", "Group")
        permission_model = apps.get_model("auth", "Permission")
    except LookupError:  # auth not migrated yet
        return
    sync_roles(group_model, permission_model, using=using)
