from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from webhooks import services
from webhooks.models import WebhookSubscription


class Command(BaseCommand):
    help = "Send a signed webhook.test event to one subscription now and print the outcome."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("subscription_id", type=int)

    def handle(self, *args: object, subscription_id: int, **options: object) -> None:
        subscription = WebhookSubscription.objects.filter(pk=subscription_id).first()
        if subscription is None:
            raise CommandError(f"No webhook subscription with id {subscription_id}.")
        attempt = services.subscription_send_test(subscription=subscription)
        if not attempt.succeeded:
            raise CommandError(
                f"Test to {subscription.url} failed after {attempt.duration_ms} ms: "
                f"{attempt.error or attempt.status_code}"
            )
        self.stdout.write(
            f"Test to {subscription.url}: {attempt.status_code} in {attempt.duration_ms} ms "
            f"(delivery {attempt.delivery_id})."
        )
