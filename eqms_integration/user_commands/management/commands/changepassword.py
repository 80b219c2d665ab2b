"""Django's changepassword (its arguments, prompts, validation and messages), with the new
password set through eqms_integration.users.user_password_set: a `user` `password_changed`
event in the same transaction, as the admin's password page records, never the password.

Django's handle asks and saves in one method, and no transaction may stay open while the
person types (SQLite takes its write lock at BEGIN), so handle is Django's, ending in the
service instead of `u.set_password(p1); u.save()`."""

from __future__ import annotations

import getpass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.management.commands import changepassword
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from eqms_integration.users import user_password_set

MAX_TRIES = 3


class Command(changepassword.Command):
    help = "Change a user's password (recorded in the audit trail, never the password)."

    def handle(self, *args: Any, **options: Any) -> str:
        user_model = get_user_model()
        username = options["username"] or getpass.getuser()
        try:
            user = user_model._default_manager.using(options["database"]).get(
                **{user_model.USERNAME_FIELD: username}
            )
        except user_model.DoesNotExist:
            raise CommandError(f"user '{username}' does not exist") from None

        self.stdout.write(f"Changing password for user '{user}'")
        password = self._asked_password(user)
        user_password_set(user=user, password=password)
        return f"Password changed successfully for user '{user}'"

    def _asked_password(self, user: Any) -> str:
        """Django's three tries: the same password twice, and one the validators accept."""
        for _ in range(MAX_TRIES):
            first = self._get_pass()
            second = self._get_pass("Password (again): ")
            if first != second:
                self.stdout.write("Passwords do not match. Please try again.")
                continue
            try:
                validate_password(second, user)
            except ValidationError as err:
                self.stderr.write("\n".join(err.messages))
            else:
                return first
        raise CommandError(f"Aborting password change for user '{user}' after {MAX_TRIES} attempts")
