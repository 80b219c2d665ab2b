from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sync.models import Connection
from sync.services import connection_test


class Command(BaseCommand):
    help = "Connect to a sync connection's system and report success or the reason it failed."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("connection", help="id or name")

    def handle(self, *args: Any, connection: str, **options: Any) -> None:
        found = Connection.objects.filter(name=connection).first()
        if found is None and connection.isdigit():
            found = Connection.objects.filter(pk=int(connection)).first()
        if found is None:
            raise CommandError(f"No sync connection with id or name {connection!r}.")
        result = connection_test(connection=found)
        if not result.ok:
            raise CommandError(
                f"{found.name}: FAILED after {result.duration_ms} ms: {result.message}"
            )
        self.stdout.write(f"{found.name}: OK in {result.duration_ms} ms ({result.message})")
