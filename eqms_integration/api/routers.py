from __future__ import annotations

from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """Every route answers with or without its trailing slash (no redirect, so POSTs survive)."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"
