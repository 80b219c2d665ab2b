from __future__ import annotations

from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "sync"
    verbose_name = "Sync adapters"

    def ready(self) -> None:
        from sync import checks  # noqa: F401 - registers the system checks
