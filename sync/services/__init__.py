"""Every write and side effect of the sync app goes through these functions."""

from __future__ import annotations

from sync.services.configurations import (
    configuration_create,
    configuration_delete,
    configuration_set_enabled,
    configuration_update,
    configuration_validate,
)
from sync.services.connections import (
    connection_create,
    connection_delete,
    connection_describe,
    connection_test,
    connection_update,
)

__all__ = [
    "configuration_create",
    "configuration_delete",
    "configuration_set_enabled",
    "configuration_update",
    "configuration_validate",
    "connection_create",
    "connection_delete",
    "connection_describe",
    "connection_test",
    "connection_update",
]
