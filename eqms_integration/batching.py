"""Splitting long lists of ids into pieces every database accepts in one `IN (…)`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

# SQL Server takes at most 2,100 parameters per statement (the QMS itself may run on it).
IN_CHUNK = 2000


def chunked(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
