from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from webhooks import services
from webhooks.models import WebhookSubscription


class Command(BaseCommand):
    help = (
        "Make waiting deliveries due now and enqueue them; with --failed, also re-send "
        "deliveries that gave up (with a fresh retry budget)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--subscription", type=int, help="Only this subscription id.")
        parser.add_argument("--since", help="Only deliveries created at or after (ISO 8601).")
        parser.add_argument("--failed", action="store_true", help="Re-send failed deliveries.")

    def handle(self, *args: object, **options: object) -> None:
        subscription = None
        if options["subscription"] is not None:
            subscription = WebhookSubscription.objects.filter(pk=options["subscription"]).first()
            if subscription is None:
                raise CommandError(f"No webhook subscription with id {options['subscription']}.")
        since = self._since(options["since"])
        count = services.deliveries_requeue(
            subscription=subscription,
            since=since,
            include_failed=bool(options["failed"]),
            include_pending=True,
        )
        self.stdout.write(f"Enqueued {count} deliveries.")

    def _since(self, raw: object) -> datetime | None:
        if not raw:
            return None
        try:
            value = parse_datetime(str(raw))
        except ValueError:
            value = None
        if value is None:
            raise CommandError(f"--since must be an ISO 8601 date-time, not {raw!r}.")
        return value if timezone.is_aware(value) else timezone.make_aware(value)
