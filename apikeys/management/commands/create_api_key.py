from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apikeys.services import apikey_create


def parse_expiry(at: str | None, in_days: int | None) -> datetime | None:
    if at is not None:
        value = parse_datetime(at)
        if value is None:
            raise CommandError(f"--expires-at {at!r} is not an ISO 8601 date-time.")
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if in_days is not None:
        now = timezone.now()
        latest = (datetime.max.replace(tzinfo=UTC) - now).days
        if not 1 <= in_days <= latest:
            raise CommandError(
                f"--expires-in-days must be between 1 and {latest} "
                "(the expiry must be before the year 10000)."
            )
        return now + timedelta(days=in_days)
    return None


class Command(BaseCommand):
    help = "Create an API key and print it once (it is not stored and cannot be shown again)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--description", default="")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            default=[],
            help="repeatable, e.g. --scope ncr:read --scope ncr:write",
        )
        parser.add_argument(
            "--allow-ip",
            action="append",
            dest="networks",
            default=[],
            help="repeatable IPv4/IPv6 address or CIDR",
        )
        expiry = parser.add_mutually_exclusive_group()
        expiry.add_argument("--expires-at", help="ISO 8601 date-time")
        expiry.add_argument("--expires-in-days", type=int)
        parser.add_argument("--rate-limit", type=int, help="requests per minute")
        parser.add_argument("--json", action="store_true", help="print {id, key_id, key} as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            issued = apikey_create(
                name=options["name"],
                description=options["description"],
                scopes=options["scopes"],
                allowed_networks=options["networks"],
                expires_at=parse_expiry(options["expires_at"], options["expires_in_days"]),
                rate_limit_per_minute=options["rate_limit"],
                actor="manage.py create_api_key",
            )
        except ValidationError as exc:
            raise CommandError(format_errors(exc)) from None
        key = issued.api_key
        if options["json"]:
            self.stdout.write(json.dumps({"id": key.pk, "key_id": key.key_id, "key": issued.key}))
            return
        self.stdout.write(f"Created API key {key.name!r} (id {key.pk}, key_id {key.key_id}).")
        self.stdout.write(f"Scopes: {', '.join(key.scopes)}")
        self.stdout.write("Key (shown once, copy it now):")
        self.stdout.write(issued.key)


def format_errors(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return "; ".join(exc.messages)
