"""Changes to people's access: a user's groups (the roles of eqms_integration.roles) are set
here, with an audit event (object_type `user`, changes `groups` old -> new) in the same
transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Group
from django.db import transaction

from audit import services as audit


def _names(groups: Iterable[Group]) -> list[str]:
    return sorted(group.name for group in groups)


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
    audit.event_record(
        action="groups_changed",
        object_type="user",
        object_id=user.pk,
        object_repr=user.get_username(),
        changes={"groups": [before, after]},
    )
    return True
