"""Seal what is waiting, then recompute the audit chain: exit 0 with a one-line summary, or 1
naming the first event that does not match."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit import services
from eqms_integration.text import counted


class Command(BaseCommand):
    help = (
        "Seal committed audit events, recompute the whole hash chain and report: exit 0 and a "
        "summary if it is intact, 1 and the first event that does not match otherwise."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--seal-late",
            action="store_true",
            help="also seal events the sealer passed by (named 'never sealed' by an earlier "
            "run), once you have checked they are genuine",
        )

    def handle(self, *args: Any, seal_late: bool = False, **options: Any) -> None:
        try:
            sealed = services.events_seal(include_late=seal_late)
        except services.ChainBroken as exc:
            sealed, cannot_seal = 0, str(exc)
        else:
            cannot_seal = ""
        result = services.trail_verify()  # names the problem even when sealing could not run
        if not result.ok:
            raise CommandError(result.summary(), returncode=1)
        if cannot_seal:
            raise CommandError(f"Audit trail BROKEN: {cannot_seal}", returncode=1)
        if sealed and options["verbosity"] > 1:
            self.stdout.write(f"Sealed {counted(sealed, 'new event')}.")
        self.stdout.write(result.summary())
