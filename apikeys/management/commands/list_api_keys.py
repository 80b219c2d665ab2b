from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apikeys.models import APIKey
from eqms_integration.text import counted


class Command(BaseCommand):
    help = "List API keys (never their secrets)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--active", action="store_true", help="only keys that still work")

    def handle(self, *args: Any, **options: Any) -> None:
        keys = list(APIKey.objects.order_by("pk"))
        if options["active"]:
            keys = [key for key in keys if key.state == "active"]
        self.stdout.write(
            f"{'id':>5}  {'key_id':<12}  {'state':<8}  {'last used':<16}  {'uses':>8}  name"
        )
        for key in keys:
            last = key.last_used_at.strftime("%Y-%m-%d %H:%M") if key.last_used_at else "never"
            self.stdout.write(
                f"{key.pk:>5}  {key.key_id:<12}  {key.state:<8}  {last:<16}  {key.usage_count:>8}  "
                f"{key.name} [{', '.join(key.scopes)}]"
            )
        self.stdout.write(counted(len(keys), "key"))
