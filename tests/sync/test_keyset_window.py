"""One keyset window rule for every reader: the SQL WHERE, the REST session's filter and the
engine's own bookkeeping agree on which rows sharing a cursor value come after a stored
(cursor, key), including a stored cursor without a key and ties at the upper bound."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from sync.connectors.base import RemoteSpec
from sync.connectors.cursors import in_window
from sync.connectors.factory import connector_for
from sync.models import Connection
from tests.sync.rest_server import RESOURCE, FakeERP
from tests.sync.sources import SQLiteSource

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 1, 8, 0)
# Keys by minute after T0: two rows at 0, three at 1 (the stored cursor), one at 2.
MINUTES = {"EQ-1": 0, "EQ-2": 0, "EQ-3": 1, "EQ-4": 1, "EQ-5": 1, "EQ-6": 2}
SQL_SPEC = RemoteSpec(
    object_name="erp_equipment",
    key="equipment_no",
    cursor_field="changed_at",
    columns=("description",),
)
REST_SPEC = RemoteSpec(
    object_name=RESOURCE[1:], key="id", cursor_field="updated_at", columns=("name",)
)


@pytest.fixture
def sql_session(tmp_path) -> Iterator:
    source = SQLiteSource(tmp_path)
    source.create()
    source.insert(
        [
            (key, key, "A", "2027-01-01", T0 + timedelta(minutes=minute))
            for key, minute in MINUTES.items()
        ]
    )
    connection = Connection.objects.create(name="ERP", **source.connection_fields())
    with connector_for(connection).session(SQL_SPEC) as session:
        yield session


@pytest.fixture
def rest_session() -> Iterator:
    with FakeERP.running() as erp:
        erp.pagination = "page"
        erp.add(
            *(
                {
                    "id": key,
                    "name": key,
                    "updated_at": (T0 + timedelta(minutes=minute)).replace(tzinfo=UTC).isoformat(),
                }
                for key, minute in MINUTES.items()
            )
        )
        connection = Connection.objects.create(
            name="ERP API",
            kind="rest",
            base_url=erp.base_url,
            auth_type="none",
            options={"items_path": "items", "pagination": {"type": "page"}},
        )
        with connector_for(connection).session(REST_SPEC) as session:
            yield session


def read(session, *, after_key: str | None, stored_minute: int, upper_minute: int) -> set[str]:
    """The keys a delta read of `session` yields after (cursor at stored_minute, after_key)
    up to the cursor at upper_minute, in pages of 2 (so pages split the ties), beside the
    keys the window rule itself admits for the same rows."""
    rows = [row for page in session.batches(after=None, upper=None, size=100) for row in page]
    cursor, key = session.spec.cursor_field, session.spec.key
    at = {row[key]: row[cursor] for row in rows}
    after = (at[_key_at(stored_minute)], after_key)
    upper = at[_key_at(upper_minute)]
    pages = session.batches(after=after, upper=upper, size=2)
    read_keys = {row[key] for page in pages for row in page}
    ruled = {row[key] for row in rows if in_window(row[cursor], row[key], after=after, upper=upper)}
    assert read_keys == ruled
    return read_keys


def _key_at(minute: int) -> str:
    return next(key for key, at in MINUTES.items() if at == minute)


@pytest.mark.parametrize("reader", ["sql_session", "rest_session"])
def test_rows_at_the_stored_cursor_with_a_later_key_are_read_and_the_others_are_not(
    reader, request
):
    session = request.getfixturevalue(reader)

    tied = read(session, after_key="EQ-3", stored_minute=1, upper_minute=2)
    at_the_upper_bound = read(session, after_key="EQ-4", stored_minute=1, upper_minute=1)
    no_key_stored = read(session, after_key=None, stored_minute=1, upper_minute=2)
    from_before = read(session, after_key="EQ-2", stored_minute=0, upper_minute=1)

    assert tied == {"EQ-4", "EQ-5", "EQ-6"}
    assert at_the_upper_bound == {"EQ-5"}  # the upper bound is inclusive, ties and all
    assert no_key_stored == {"EQ-6"}  # every row at a cursor stored without a key was read
    assert from_before == {"EQ-3", "EQ-4", "EQ-5"}


def test_a_row_without_a_cursor_value_is_in_no_window():
    assert not in_window(None, "EQ-9", after=None, upper=None)
    assert in_window(T0, "EQ-9", after=None, upper=None)
