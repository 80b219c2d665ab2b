"""Sync adapters: connections, configurations, runs, links and conflicts."""

from __future__ import annotations

from sync.models.configurations import SyncConfiguration
from sync.models.conflicts import SyncConflict
from sync.models.connections import Connection
from sync.models.records import SyncLink, SyncRecord, SyncRetry, SyncState
from sync.models.runs import SyncRowError, SyncRun

__all__ = [
    "Connection",
    "SyncConfiguration",
    "SyncConflict",
    "SyncLink",
    "SyncRecord",
    "SyncRetry",
    "SyncRowError",
    "SyncRun",
    "SyncState",
]
