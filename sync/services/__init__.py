"""Every write and side effect of the sync app goes through these functions."""

from __future__ import annotations

from sync.services.connections import (
    connection_create,
    connection_describe,
    connection_test,
    connection_update,
    connector_for,
)

__all__ = [
    "connection_create",
    "connection_describe",
    "connection_test",
    "connection_update",
    "connector_for",
]
