"""Changes to people's access: a user's groups (the roles of eqms_integration.roles), flags
(active, staff, superuser) and direct permissions are recorded here, with an audit event
(object_type `user`) in the same transaction, and so are a group's (a role's) permissions
(object_type `group`). Never a password or its hash."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from audit import services as audit
from eqms_integration.roles import ROLE_MATRIX, sync_roles

ACCESS_FIELDS = ("username", "is_active", "is_staff", "is_superuser")


def _names(groups: Iterable[Group]) -> list[str]:
    return sorted(group.name for group in groups)


def _permission_names(permissions: Iterable[Permission]) -> list[str]:
    return sorted(f"{p.content_type.app_label}.{p.codename}" for p in permissions)


def user_access_of(user: Any) -> dict[str, Any]:
    """What the trail compares of a saved user (empty for one not saved yet)."""
    if user.pk is None:
        return {}
    permissions = user.user_permissions.select_related("content_type")
    return {
        **audit.field_values(user, ACCESS_FIELDS),
        "user_permissions": _permission_names(permissions),
    }


def _record(action: str, user: Any, changes: dict[str, Any], object_id: Any = None) -> None:
    audit.event_record(
        action=action,
        object_type="user",
        object_id=object_id or user.pk,
        object_repr=user.get_username(),
        changes=changes,
    )


@transaction.atomic
def user_groups_set(*, user: Any, groups: Iterable[Group]) -> bool:
    """Give `user` exactly these groups; True (and one `groups_changed` event) when that
    changed anything."""
    groups = list(groups)
    before = _names(user.groups.all())
    after = _names(groups)
    if before == after:
        return False
    user.groups.set(groups)
    _record("groups_changed", user, {"groups": [before, after]})
    return True


@transaction.atomic
def user_access_saved(
    *, user: Any, before: dict[str, Any], permissions: Iterable[Permission] | None = None
) -> bool:
    """After `user` was saved (created when `before` is empty): set its direct permissions
    when given, and record what changed of its access; True when anything did."""
    if permissions is not None:
        user.user_permissions.set(list(permissions))
    changes = audit.changes_between(before, user_access_of(user))
    if not changes:
        return False
    _record("updated" if before else "created", user, changes)
    return True


@transaction.atomic
def user_password_set(*, user: Any, password: str | None) -> None:
    """Give `user` a new password, or none (None: password login disabled), as the admin's
    password page does; the trail says it changed, never what it is or its hash."""
    before = {"password": user.password if user.has_usable_password() else ""}
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.save(update_fields=["password"])
    after = {"password": user.password if user.has_usable_password() else ""}
    changes = audit.changes_between(before, after, secret_fields=["password"])
    _record("password_changed", user, changes)


@transaction.atomic
def user_delete(*, user: Any) -> None:
    before, pk = user_access_of(user), user.pk
    user.delete()
    _record("deleted", user, audit.changes_between(before, {}), object_id=pk)


def group_access_of(group: Group) -> dict[str, Any]:
    """What the trail compares of a saved group (a role): its name and permissions."""
    if group.pk is None:
        return {}
    permissions = group.permissions.select_related("content_type")
    return {"name": group.name, "permissions": _permission_names(permissions)}


@transaction.atomic
def group_saved(
    *, group: Group, before: dict[str, Any], permissions: Iterable[Permission] | None = None
) -> bool:
    """After `group` was saved (created when `before` is empty): set its permissions when
    given, and record what changed; True when anything did."""
    if permissions is not None:
        group.permissions.set(list(permissions))
    changes = audit.changes_between(before, group_access_of(group))
    if not changes:
        return False
    audit.event_record(
        action="updated" if before else "created",
        object_type="group",
        object_id=group.pk,
        object_repr=group.name,
        changes=changes,
    )
    return True


@transaction.atomic
def group_delete(*, group: Group) -> None:
    before, pk = group_access_of(group), group.pk
    group.delete()
    audit.event_record(
        action="deleted",
        object_type="group",
        object_id=pk,
        object_repr=before["name"],
        changes=audit.changes_between(before, {}),
    )


@transaction.atomic
def roles_ensure() -> list[Group]:
    """Bring the role groups back to the matrix of eqms_integration.roles (`ensure_roles`),
    each group it creates or whose permissions it changes with its `group` event: a role
    restored here undoes a change of access someone made, and the trail shows both. (The
    same repair after every `migrate` runs from post_migrate, unrecorded: it keeps the roles
    in step with the models a migration adds, before the trail's own tables may exist.)"""
    before = {g.name: group_access_of(g) for g in Group.objects.filter(name__in=ROLE_MATRIX)}
    sync_roles(Group, Permission)
    groups = {g.name: g for g in Group.objects.filter(name__in=ROLE_MATRIX)}
    for name, group in groups.items():
        group_saved(group=group, before=before.get(name, {}))
    return [groups[name] for name in ROLE_MATRIX]  # in the matrix's order
