"""What the sync engine needs of the external side of a configuration, whatever it is (an SQL
table or view, a REST resource): read changed rows in order, fetch rows by key, upsert rows.

Rows are plain dicts keyed by remote column (or JSON field) name. External ids are the remote
key's value as text (`str(row[key])`); sessions turn them back into the key column's type.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sync.connectors.sql.catalog import TableCatalogue


@dataclass(frozen=True)
class RemoteSpec:
    """The remote half of a configuration, as the engine hands it to a session."""

    object_name: str  # [schema.]table or view; REST: a resource path relative to base_url
    key: str  # column holding the external id
    cursor_field: str | None  # delta cursor column (timestamp, rowversion, increasing id)
    columns: tuple[str, ...]  # mapped columns (may repeat key or cursor_field)


@dataclass(frozen=True)
class WriteFailure:
    """A row the remote side refused; the others of its batch were written."""

    external_id: str
    message: str  # safe to show and log: no credentials


class RemoteSession(Protocol):
    """An open connection to the remote side of one configuration."""

    # True when batches() yields rows in (cursor_field, key) order bounded by `upper`, so the
    # engine may save its cursor after every batch. False (REST): the cursor is saved only
    # when a run has read everything.
    ordered: bool
    # The table as the SQL catalogue described it when the session opened (checks reuse it
    # rather than describing again); None where there is no catalogue (REST).
    catalogue: TableCatalogue | None

    def upper_bound(self) -> Any | None:
        """The highest cursor value now (fixed at run start); None when no row has one."""

    def count(self, *, after: tuple[Any, Any] | None, upper: Any | None) -> int | None:
        """How many rows batches() would yield with these bounds; None if unknown."""

    def batches(
        self, *, after: tuple[Any, Any] | None, upper: Any | None, size: int
    ) -> Iterator[list[dict[str, Any]]]:
        """Rows with (cursor, key) > after and cursor <= upper (delta), or all rows (full, when
        the spec has no cursor_field or after/upper are None), `size` at a time."""

    def fetch(self, external_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The current rows of these external ids; missing ones are absent from the result."""

    def upsert(self, rows: Sequence[dict[str, Any]]) -> list[WriteFailure]:
        """Insert or update each row by its key, idempotently. A row the remote side refuses
        is reported and does not stop the others."""


class Remote(Protocol):
    def session(self, spec: RemoteSpec) -> Iterator[RemoteSession]:
        """A context manager (contextlib.contextmanager) yielding an open session."""
        ...


def external_id(row: dict[str, Any], key: str) -> str:
    value = row[key]
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)
