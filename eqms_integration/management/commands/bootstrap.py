from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Prepare a database for use: migrate, ensure the roles, ensure the admin superuser."

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = options["verbosity"]
        call_command("migrate", interactive=False, verbosity=max(verbosity - 1, 0))
        call_command("ensure_roles", verbosity=verbosity, stdout=self.stdout)
        call_command("ensure_admin", verbosity=verbosity, stdout=self.stdout)
