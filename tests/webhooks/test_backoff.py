"""Retry delays: exponential, jittered, capped; Retry-After parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from eqms_integration.http_headers import parse_retry_after
from webhooks.backoff import retry_delay_seconds


def test_delays_double_per_attempt_within_20_percent_jitter():
    for attempt, nominal in [(1, 60), (2, 120), (3, 240), (6, 1920)]:
        delays = [retry_delay_seconds(base_seconds=60, attempt=attempt) for _ in range(200)]
        assert all(0.8 * nominal <= d <= 1.2 * nominal for d in delays)
        assert max(delays) - min(delays) > 0.1 * nominal  # there is jitter


def test_delays_never_exceed_24_hours():
    assert retry_delay_seconds(base_seconds=3600, attempt=11) == 86400


def test_retry_after_lengthens_but_never_shortens_the_delay():
    assert retry_delay_seconds(base_seconds=10, attempt=1, retry_after_seconds=300) == 300
    assert retry_delay_seconds(base_seconds=600, attempt=1, retry_after_seconds=1) >= 480


def test_retry_after_is_read_as_seconds_or_an_http_date():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    assert parse_retry_after("120", now=now) == 120
    in_five_minutes = format_datetime(now + timedelta(minutes=5), usegmt=True)
    assert parse_retry_after(in_five_minutes, now=now) == 300
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None, now=now) is None


def test_the_default_schedule_is_the_standard_webhooks_example_over_about_three_days():
    from webhooks.backoff import standard_retry_schedule

    schedule = standard_retry_schedule()

    assert schedule == [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    assert 3 * 86400 < sum(schedule) < 4 * 86400


def test_scheduled_delays_follow_the_schedule_within_20_percent_and_then_stop():
    from webhooks.backoff import scheduled_delay_seconds

    schedule = [5, 300, 1800]
    for attempt, nominal in [(1, 5), (2, 300), (3, 1800)]:
        delays = [scheduled_delay_seconds(schedule=schedule, attempt=attempt) for _ in range(200)]
        assert all(0.8 * nominal <= d <= 1.2 * nominal for d in delays)
        assert max(delays) - min(delays) > 0.1 * nominal
    assert scheduled_delay_seconds(schedule=schedule, attempt=4) is None


def test_retry_after_lengthens_a_scheduled_delay_up_to_a_day_but_never_shortens_it():
    from webhooks.backoff import scheduled_delay_seconds

    assert scheduled_delay_seconds(schedule=[5], attempt=1, retry_after_seconds=120) == 120
    assert scheduled_delay_seconds(schedule=[5], attempt=1, retry_after_seconds=9e9) == 86400
    assert scheduled_delay_seconds(schedule=[600], attempt=1, retry_after_seconds=1) >= 480
