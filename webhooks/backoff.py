"""When to try a failed delivery again: a schedule of waits (the default is the Standard
Webhooks example, about three days), or `base * 2^(n-1)` for subscriptions that keep the
exponential policy (max_retries + retry_delay_seconds)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

MAX_DELAY_SECONDS = 24 * 3600
JITTER = 0.2
# Waits after the 1st, 2nd, … failed attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h
# (https://www.standardwebhooks.com: "immediately" is the first attempt). 10 attempts, ~3.2 days.
STANDARD_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
MAX_SCHEDULE_LENGTH = 20


def standard_retry_schedule() -> list[int]:
    return list(STANDARD_SCHEDULE)


def schedule_problem(schedule: Any) -> str | None:
    """Why `schedule` is not a retry schedule (None: it is one)."""
    if not isinstance(schedule, list) or len(schedule) > MAX_SCHEDULE_LENGTH:
        return f"Give a list of at most {MAX_SCHEDULE_LENGTH} waits in seconds ([]: no retries)."
    if not all(type(w) is int and 1 <= w <= MAX_DELAY_SECONDS for w in schedule):
        return f"Each wait is a whole number of seconds from 1 to {MAX_DELAY_SECONDS}."
    return None


def _jittered(delay: float, retry_after_seconds: float | None) -> float:
    # ± 20 % so that receivers are not hit by synchronized waves; at least the receiver's
    # Retry-After (never shortened by it); never more than 24 hours whatever either says.
    delay *= random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311
    if retry_after_seconds is not None:
        delay = max(delay, retry_after_seconds)
    return min(delay, MAX_DELAY_SECONDS)


def retry_delay_seconds(
    *, base_seconds: int, attempt: int, retry_after_seconds: float | None = None
) -> float:
    """`base * 2^(attempt-1)` ± 20 % jitter, at least Retry-After, at most 24 hours."""
    return _jittered(base_seconds * 2 ** (attempt - 1), retry_after_seconds)


def scheduled_delay_seconds(
    *, schedule: Sequence[int], attempt: int, retry_after_seconds: float | None = None
) -> float | None:
    """The wait after failed attempt number `attempt` (1: the first) ± 20 %, at least
    Retry-After, at most 24 hours; None when the schedule has no more retries."""
    if not 1 <= attempt <= len(schedule):
        return None
    return _jittered(schedule[attempt - 1], retry_after_seconds)
