"""The external side of a configuration as one session, whatever the connection kind."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, TypeVar

from django.db import Error as DatabaseError
from django.db.backends.base.base import BaseDatabaseWrapper

from eqms_integration.text import plural
from sync.connectors import sql_write
from sync.connectors.base import RemoteSession, RemoteSpec, WriteFailure, external_id
from sync.connectors.errors import ConnectorError, redact
from sync.connectors.sql import SQLConnector, count_rows, max_value, select_batch
from sync.engine.mapping import remote_columns
from sync.models import SyncConfiguration
from sync.services.connections import connector_for

F = TypeVar("F", bound=Callable[..., Any])


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
        self, db: BaseDatabaseWrapper, *, kind: str, spec: RemoteSpec,
        cast_key: Callable[[str], Any], secrets: Sequence[str],
    ) -> None:  # fmt: skip
        self.db, self.kind, self.spec = db, kind, spec
        self.cast_key, self.secrets = cast_key, secrets
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
        return max_value(self.db, self.spec.object_name, self.spec.cursor_field)

    @_remote_errors
    def count(self, *, after: tuple | None, upper: Any | None) -> int | None:
        return count_rows(self.db, **self._keyset(after, upper))

    @_remote_errors
    def _page(self, keyset: dict[str, Any], size: int) -> list[dict[str, Any]]:
        return select_batch(self.db, kind=self.kind, columns=self.columns, limit=size, **keyset)

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
        rows = sql_write.fetch_rows(
            self.db, kind=self.kind, object_name=self.spec.object_name, key=self.spec.key,
            columns=self.columns, keys=keys,
        )  # fmt: skip
        return {external_id(row, self.spec.key): row for row in rows}

    @_remote_errors
    def upsert(self, rows: Sequence[dict[str, Any]]) -> list[WriteFailure]:
        key, typed_rows, refused = self.spec.key, [], []
        for row in rows:
            typed = self._typed_key(row[key])
            if typed is None:
                refused.append(WriteFailure(
                    str(row[key]), f"{row[key]!r} is not a value the key column "
                                   f"{self.spec.key!r} can hold.",
                ))  # fmt: skip
            else:
                typed_rows.append({**row, key: typed})
        if not typed_rows:
            return refused
        return refused + sql_write.upsert_rows(
            self.db, kind=self.kind, object_name=self.spec.object_name, key=key,
            rows=typed_rows, secrets=self.secrets,
        )  # fmt: skip

    def _typed_key(self, value: Any) -> Any:
        """The external id as the key column's type; None when it cannot be one."""
        try:
            return self.cast_key(value)
        except (ValueError, ArithmeticError):  # decimal.InvalidOperation is an ArithmeticError
            return None


def spec_of(config: SyncConfiguration) -> RemoteSpec:
    return RemoteSpec(
        object_name=config.remote_object,
        key=config.remote_key,
        cursor_field=config.delta_field or None,
        columns=remote_columns(config),
    )


@contextmanager
def remote_session(config: SyncConfiguration) -> Iterator[RemoteSession]:
    """Open the external side of a configuration; ConnectorError when it cannot be reached."""
    connector = connector_for(config.connection)
    spec = spec_of(config)
    if not isinstance(connector, SQLConnector):
        with connector.session(spec) as session:
            yield session
        return
    spec = replace(spec, object_name=connector.qualify(spec.object_name))
    columns = {column.name: column for column in connector.describe(spec.object_name)}
    # Checked again on every open (runs, previews, resolutions): a column renamed at the
    # source fails here with its name, before any SQL names it (SQLite would even read a
    # quoted name it does not know as a string constant).
    wanted = [spec.key, *([spec.cursor_field] if spec.cursor_field else []), *spec.columns]
    missing = [name for name in dict.fromkeys(wanted) if name not in columns]
    if missing:
        raise ConnectorError(
            f"Configuration no longer matches the source: {spec.object_name} has no "
            f"{plural(len(missing), 'column')} {', '.join(map(repr, missing))} "
            f"(columns: {', '.join(sorted(columns))})."
        )
    cast_key = sql_write.key_caster(columns[spec.key].data_type)
    with connector.open() as db:
        yield SQLSession(
            db, kind=connector.kind, spec=spec, cast_key=cast_key, secrets=[connector.password]
        )
