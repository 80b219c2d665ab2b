"""Who changed what: the three-way comparison of a record's source values (the external
system), target values (the QMS) and base values (what both last agreed on), and what each
conflict strategy makes of a record changed on both sides."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from sync.engine.values import digest, normalised
from sync.models import SyncConfiguration, SyncLink

Direction = SyncConfiguration.Direction
Strategy = SyncConfiguration.ConflictStrategy


class Action(StrEnum):
    NONE = "none"  # in step (the base may still move to the agreed values)
    CREATE_LOCAL = "create_local"
    UPDATE_LOCAL = "update_local"
    PUSH = "push"  # write the QMS values to the external system
    HOLD = "hold"  # a conflict waits for a person (manual) or is skipped


@dataclass
class Item:
    """One record as both sides have it now. `remote_known` is False when the external side
    was not read (outbound delta runs trust the base instead)."""

    external_id: str
    link: SyncLink | None = None
    remote_row: dict[str, Any] | None = None
    remote: dict[str, Any] | None = None  # typed QMS values mapped from remote_row
    local_obj: Any = None
    local: dict[str, Any] | None = None  # typed QMS values of local_obj's mapped fields
    remote_known: bool = True
    remote_norm: dict[str, Any] | None = field(default=None, init=False)
    local_norm: dict[str, Any] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        self.remote_norm = normalised(self.remote) if self.remote is not None else None
        self.local_norm = normalised(self.local) if self.local is not None else None
        self._hashes: dict[str, str] = {}  # digests of the normalised values, made once

    def _digest(self, side: str, values: dict[str, Any] | None) -> str | None:
        if values is None:
            return None
        if side not in self._hashes:
            self._hashes[side] = digest(values)
        return self._hashes[side]

    @property
    def remote_hash(self) -> str | None:
        return self._digest("remote", self.remote_norm)

    @property
    def local_hash(self) -> str | None:
        return self._digest("local", self.local_norm)

    def hash_of(self, values: dict[str, Any]) -> str:
        """The digest of one side's normalised values (made once), or of other values."""
        if values is self.remote_norm:
            return self.remote_hash or digest(values)
        if values is self.local_norm:
            return self.local_hash or digest(values)
        return digest(values)

    @property
    def base_hash(self) -> str:
        return self.link.base_hash if self.link else ""


def decide(direction: str, item: Item) -> Action | None:
    """The action for one record; None means a conflict (both sides changed, differently)."""
    r, lo, b = item.remote_hash, item.local_hash, item.base_hash
    if direction == Direction.INBOUND:
        if r is None:
            return Action.NONE
        if lo is None:
            return Action.CREATE_LOCAL
        return Action.NONE if r == lo else Action.UPDATE_LOCAL
    if direction == Direction.OUTBOUND:
        if lo is None:
            return Action.NONE
        if not item.remote_known:
            return Action.NONE if lo == b else Action.PUSH
        return Action.NONE if r == lo else Action.PUSH
    # Bidirectional.
    if lo is None:
        return Action.CREATE_LOCAL if r is not None else Action.NONE
    if r is None:
        # Gone at the source but changed here: write it back. Unchanged: a deletion at the
        # source, which full runs report (and apply when configured).
        return Action.NONE if (item.remote_known and lo == b) else Action.PUSH
    if r == lo:
        return Action.NONE
    if lo == b:
        return Action.UPDATE_LOCAL
    if r == b:
        return Action.PUSH
    return None


@dataclass(frozen=True)
class Settlement:
    """What a strategy made of a conflict: the action, and whether to keep a conflict row
    (`pending` waits for a person; `logged` records an automatic decision)."""

    action: Action
    record: str | None  # None, "pending" or "logged"
    resolution: str = ""
    note: str = ""


def as_aware(value: Any) -> datetime | None:
    if isinstance(value, str):
        value = parse_datetime(value)
    if not isinstance(value, datetime):
        return None
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _newest(item: Item, cursor_field: str) -> Settlement:
    source_at = as_aware((item.remote_row or {}).get(cursor_field)) if cursor_field else None
    target_at = getattr(item.local_obj, "updated_at", None)
    if source_at is None or target_at is None:
        return Settlement(
            Action.HOLD,
            "pending",
            note="newest_wins needs a timestamp cursor column to compare; left for a person.",
        )
    if source_at >= target_at:
        return Settlement(Action.UPDATE_LOCAL, None, "source_wins")
    return Settlement(Action.PUSH, None, "target_wins")


def decide_conflict(strategy: str, item: Item, cursor_field: str) -> Settlement:
    """What the configured strategy makes of a record changed on both sides."""
    if strategy == Strategy.SOURCE_WINS:
        return Settlement(Action.UPDATE_LOCAL, None, "source_wins")
    if strategy == Strategy.TARGET_WINS:
        return Settlement(Action.PUSH, None, "target_wins")
    if strategy == Strategy.NEWEST_WINS:
        return _newest(item, cursor_field)
    if strategy == Strategy.SKIP:
        return Settlement(Action.HOLD, None)
    if strategy == Strategy.LOG:
        return Settlement(
            Action.UPDATE_LOCAL,
            "logged",
            "source_wins",
            "Strategy 'log': the source was applied; resolve again to choose otherwise.",
        )
    return Settlement(Action.HOLD, "pending")
