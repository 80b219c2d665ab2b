from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apikeys.management.commands.create_api_key import format_errors
from apikeys.management.commands.revoke_api_key import find_key
from apikeys.services import apikey_rotate
from apikeys.services.lifecycle import DEFAULT_ROTATION_GRACE, MAX_ROTATION_GRACE
from eqms_integration.text import counted

MAX_GRACE_SECONDS = int(MAX_ROTATION_GRACE.total_seconds())


class Command(BaseCommand):
    help = "Issue a successor key (printed once); the old key works until the grace period ends."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("key", help="id or key_id")
        parser.add_argument(
            "--grace-seconds",
            type=int,
            default=int(DEFAULT_ROTATION_GRACE.total_seconds()),
            help=f"how long the old key keeps working (default 86400, 0 = now, at most "
            f"{MAX_GRACE_SECONDS})",
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0 <= options["grace_seconds"] <= MAX_GRACE_SECONDS:
            raise CommandError(
                f"--grace-seconds must be between 0 and {MAX_GRACE_SECONDS} "
                f"({MAX_ROTATION_GRACE.days} days)."
            )
        old = find_key(options["key"])
        try:
            issued = apikey_rotate(
                key=old,
                grace=timedelta(seconds=options["grace_seconds"]),
                actor="manage.py rotate_api_key",
            )
        except ValidationError as exc:
            raise CommandError(format_errors(exc)) from None
        new = issued.api_key
        if options["json"]:
            self.stdout.write(json.dumps({"id": new.pk, "key_id": new.key_id, "key": issued.key}))
            return
        self.stdout.write(f"Rotated {old.key_id} -> {new.key_id} (id {new.pk}).")
        more = counted(options["grace_seconds"], "more second")
        self.stdout.write(f"The old key works for {more}.")
        self.stdout.write("New key (shown once, copy it now):")
        self.stdout.write(issued.key)
