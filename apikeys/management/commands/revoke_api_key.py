from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apikeys.management.commands.create_api_key import format_errors
from apikeys.models import APIKey
from apikeys.services import apikey_revoke


def find_key(ref: str) -> APIKey:
    key = APIKey.objects.filter(pk=int(ref)).first() if ref.isdigit() else None
    key = key or APIKey.objects.filter(key_id=ref).first()
    if key is None:
        raise CommandError(f"No API key with id or key_id {ref!r}.")
    return key


class Command(BaseCommand):
    help = "Revoke an API key by id or key_id; it stops working on the next request."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("key", help="id or key_id")
        parser.add_argument("--reason", required=True, help="Why (kept in the audit trail).")

    def handle(self, *args: Any, **options: Any) -> None:
        key = find_key(options["key"])
        try:
            apikey_revoke(key=key, reason=options["reason"], actor="manage.py revoke_api_key")
        except ValidationError as exc:
            raise CommandError(format_errors(exc)) from None
        self.stdout.write(f"Revoked API key {key.name!r} ({key.key_id}).")
