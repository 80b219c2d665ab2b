"""One SQL table or view as the remote side of a sync configuration (the RemoteSession
contract): read in keyset order, fetched by key, written with the dialect's upsert."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.db import Error as DatabaseError
from django.db.backends.base.base import BaseDatabaseWrapper

from sync.connectors.base import RemoteSpec, WriteFailure, external_id
from sync.connectors.errors import ConnectorError, redact
from sync.connectors.sql import read, write
from sync.connectors.sql.catalog import TableCatalogue

F = TypeVar("F", bound=Callable[..., Any])
# The threads external writes run on while a batch writes its links (upsert_started): a run
# has one write in flight at most; a worker process may carry out several runs side by side.
_WRITER = ThreadPoolExecutor(max_workers=8, thread_name_prefix="sync-external-write")


def _remote_errors(method: F) -> F:
    """A database error here is the external database's (lost connection, dropped table):
    the run fails with its message, passwords removed, rather than as an unexpected error."""

    @functools.wraps(method)
    def wrapper(self: SQLSession, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except DatabaseError as exc:
            raise ConnectorError(redact(f"{type(exc).__name__}: {exc}", self.secrets)) from None

    return wrapper  # type: ignore[return-value]


class SQLSession:
    """A table or view read in keyset order and written with the dialect's upsert."""

    ordered = True

    def __init__(
        self,
        db: BaseDatabaseWrapper,
        *,
        kind: str,
        spec: RemoteSpec,
        cast_key: Callable[[str], Any],
        secrets: Sequence[str],
        catalogue: TableCatalogue,
    ) -> None:
        self.db, self.kind, self.spec = db, kind, spec
        self.cast_key, self.secrets = cast_key, secrets
        self.catalogue = catalogue
        wanted = [spec.key, *([spec.cursor_field] if spec.cursor_field else []), *spec.columns]
        self.columns = list(dict.fromkeys(wanted))

    def _keyset(self, after: tuple | None, upper: Any) -> dict[str, Any]:
        delta = upper is not None
        return {
            "object_name": self.spec.object_name,
            "key": self.spec.key,
            "cursor_field": self.spec.cursor_field if delta else None,
            "after": after if delta else None,
            "upper": upper,
        }

    @_remote_errors
    def upper_bound(self) -> Any | None:
        if not self.spec.cursor_field:
            return None
        return read.max_value(self.db, self.spec.object_name, self.spec.cursor_field)

    @_remote_errors
    def count(self, *, after: tuple | None, upper: Any | None) -> int | None:
        return read.count_rows(self.db, **self._keyset(after, upper))

    @_remote_errors
    def _page(self, keyset: dict[str, Any], size: int) -> list[dict[str, Any]]:
        return read.select_batch(
            self.db, kind=self.kind, columns=self.columns, limit=size, **keyset
        )

    def batches(self, *, after: tuple | None, upper: Any | None, size: int) -> Iterator[list]:
        keyset = self._keyset(after, upper)
        while True:
            rows = self._page(keyset, size)
            if not rows:
                return
            yield rows
            last = rows[-1]
            cursor = last[self.spec.cursor_field] if keyset["cursor_field"] else None
            keyset["after"] = (cursor, last[self.spec.key])
            if len(rows) < size:
                return

    @_remote_errors
    def fetch(self, external_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not external_ids:
            return {}
        keys = [key for value in external_ids if (key := self._typed_key(value)) is not None]
        if not keys:  # an id the key column cannot hold is at no row of the table
            return {}
        rows = read.fetch_rows(
            self.db,
            kind=self.kind,
            object_name=self.spec.object_name,
            key=self.spec.key,
            columns=self.columns,
            keys=keys,
            key_type=self._key_type(),
        )
        return {external_id(row, self.spec.key): row for row in rows}

    @_remote_errors
    def upsert(self, rows: Sequence[dict[str, Any]]) -> list[WriteFailure]:
        key, typed_rows, refused = self.spec.key, [], []
        for row in rows:
            typed = self._typed_key(row[key])
            if typed is None:
                message = f"{row[key]!r} is not a value the key column {key!r} can hold."
                refused.append(WriteFailure(str(row[key]), message))
            else:
                typed_rows.append({**row, key: typed})
        if not typed_rows:
            return refused
        return refused + write.upsert_rows(
            self.db,
            kind=self.kind,
            object_name=self.spec.object_name,
            key=key,
            rows=typed_rows,
            secrets=self.secrets,
        )

    def upsert_started(self, rows: Sequence[dict[str, Any]]) -> Callable[[], list[WriteFailure]]:
        """`upsert(rows)` begun on a thread of its own (the statement waits on the external
        database while the caller writes its own side): returns the function that waits for
        it and gives its failures, or raises its error. The caller must call it, exactly once,
        before using this session again; calling it again gives the same answer."""
        self.db.inc_thread_sharing()  # the wrapper is used by one thread at a time
        try:
            pending = _WRITER.submit(self.upsert, rows)
        except BaseException:
            self.db.dec_thread_sharing()
            raise

        released = False

        def finished() -> list[WriteFailure]:
            nonlocal released
            try:
                return pending.result()  # (the same answer or error each call)
            finally:
                if not released:
                    released = True
                    self.db.dec_thread_sharing()

        return finished

    def _key_type(self) -> str | None:
        """The key column's data_type as the catalogue describes it (None: not described)."""
        column = self.catalogue.columns.get(self.spec.key)
        return column.data_type if column is not None else None

    def _typed_key(self, value: Any) -> Any:
        """The external id as the key column's type; None when it cannot be one."""
        try:
            return self.cast_key(value)
        except (ValueError, ArithmeticError):  # decimal.InvalidOperation is an ArithmeticError
            return None
