from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand

from eqms_integration.roles import ROLE_MATRIX, sync_roles


class Command(BaseCommand):
    help = "Create the Admin, Manager and Auditor groups and give them the permissions of roles.py."

    def handle(self, *args: Any, **options: Any) -> None:
        sync_roles(Group, Permission)
        for name in ROLE_MATRIX:
            count = Group.objects.get(name=name).permissions.count()
            self.stdout.write(f"{name}: {count} permissions")
