"""When to try a failed delivery again."""

from __future__ import annotations

import random

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
