from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from webhooks import services


class Command(BaseCommand):
    help = (
        "Delete finished webhook deliveries (and their attempts and events) older than N days. "
        "Dry run unless --commit."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than-days", type=int, required=True)
        parser.add_argument("--commit", action="store_true", help="Really delete.")

    def handle(self, *args: object, older_than_days: int, commit: bool, **options: object) -> None:
        if older_than_days < 1:
            raise CommandError("--older-than-days must be at least 1.")
        counts = services.deliveries_prune(older_than_days=older_than_days, commit=commit)
        verb = "Deleted" if commit else "Would delete (dry run; add --commit)"
        self.stdout.write(
            f"{verb} {counts['deliveries']} deliveries, {counts['attempts']} attempts, "
            f"{counts['events']} events older than {older_than_days} days."
        )
