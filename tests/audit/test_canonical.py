"""The canonical text of an event's time: the documented form, whatever the moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from audit.canonical import canonical_json, utc_iso

MOMENTS = [
    datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=UTC),
    datetime(2026, 3, 1, 9, 30, 0, 0, tzinfo=UTC),  # no microseconds: still six digits
    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
    datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=2))),  # the day before in UTC
    datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


@pytest.mark.parametrize("moment", MOMENTS)
def test_an_events_time_is_written_as_iso_8601_utc_with_microseconds_as_the_chain_has_it(moment):
    assert utc_iso(moment) == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_canonical_json_sorts_keys_at_every_level_without_spaces_and_keeps_non_ascii():
    document = {"b": {"z": 1, "a": [None, "Prüfmittel"]}, "a": True}

    assert canonical_json(document) == '{"a":true,"b":{"a":[null,"Prüfmittel"],"z":1}}'.encode()
