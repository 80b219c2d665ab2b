from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from eqms_integration.users import user_access_saved


class Command(BaseCommand):
    help = (
        "Create the superuser `admin` if no user of that name exists. The password comes from "
        "DJANGO_SUPERUSER_PASSWORD, else it is generated and printed once."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user_model = get_user_model()
        if user_model.objects.filter(username=username).exists():
            self.stdout.write(f"Superuser {username!r} exists; nothing to do.")
            return
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or ""
        generated = not password
        if generated:
            password = secrets.token_urlsafe(18)
        with transaction.atomic():  # the superuser and its audit event (never the password)
            admin = user_model.objects.create_superuser(
                username=username, email="", password=password
            )
            user_access_saved(user=admin, before={})
        if generated:
            self.stdout.write(
                self.style.WARNING(
                    f"Created superuser {username!r} with password: {password}\n"
                    "This is shown once. Change it in the admin, or set DJANGO_SUPERUSER_PASSWORD "
                    "before the first start."
                )
            )
        else:
            self.stdout.write(f"Created superuser {username!r} (password from the environment).")
