"""Django's createsuperuser (every option, prompt and check of it), with the user it creates
recorded in the audit trail in the same transaction, as `ensure_admin`'s is: a `user`
`created` event with its flags, never the password."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.management.commands import createsuperuser
from django.db import transaction

from eqms_integration.users import user_access_saved


class _RecordingManager:
    """The user model's manager as the command uses it, but create_superuser records."""

    def __init__(self, manager: Any) -> None:
        self._manager = manager

    def db_manager(self, using: str | None = None, hints: Any = None) -> _RecordingManager:
        return _RecordingManager(self._manager.db_manager(using, hints))

    def create_superuser(self, *args: Any, **fields: Any) -> Any:
        with transaction.atomic(using=self._manager.db):
            user = self._manager.create_superuser(*args, **fields)
            user_access_saved(user=user, before={})
        return user

    def __getattr__(self, name: str) -> Any:
        return getattr(self._manager, name)


class _RecordingUserModel:
    """The user model, for Django's command: the one place it creates the user is
    `self.UserModel._default_manager.db_manager(database).create_superuser(...)`, between
    prompts that no transaction may wait on, so that call is where the event is written."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self._default_manager = _RecordingManager(model._default_manager)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._model(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


class Command(createsuperuser.Command):
    help = "Used to create a superuser (recorded in the audit trail, never its password)."

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.UserModel = _RecordingUserModel(self.UserModel)
