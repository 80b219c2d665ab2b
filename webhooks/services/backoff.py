"""When to try a failed delivery again."""

from __future__ import annotations

import random
from datetime import datetime
from email.utils import parsedate_to_datetime

MAX_DELAY_SECONDS = 24 * 3600
JITTER = 0.2


def retry_delay_seconds(
    *, base_seconds: int, attempt: int, retry_after_seconds: float | None = None
) -> float:
    """`base * 2^(attempt-1)` ± 20 % jitter (so receivers are not hit by synchronized waves),
    at least the receiver's Retry-After, never more than 24 hours."""
    delay = base_seconds * 2 ** (attempt - 1) * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311
    if retry_after_seconds is not None:
        delay = max(delay, retry_after_seconds)
    return min(delay, MAX_DELAY_SECONDS)


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date); None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())
