from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from eqms_integration.encryption import generate_key


class Command(BaseCommand):
    help = "Print a new Fernet key for FIELD_ENCRYPTION_KEYS (put it first to rotate)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(generate_key())
