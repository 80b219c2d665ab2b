"""Admin screens of the sync app; each module registers its own."""

from __future__ import annotations

from sync.admin import configurations, conflicts, connections, runs

__all__ = ["configurations", "conflicts", "connections", "runs"]
