from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from eqms_integration.users import roles_ensure


class Command(BaseCommand):
    help = "Create the Admin, Manager and Auditor groups and give them the permissions of roles.py."

    def handle(self, *args: Any, **options: Any) -> None:
        for group in roles_ensure():
            self.stdout.write(f"{group.name}: {group.permissions.count()} permissions")
