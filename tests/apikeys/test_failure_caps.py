"""The failure caps hold when wrong guesses arrive in parallel (threads, the real cache)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from apikeys import services
from apikeys.models import APIKeyEvent
from apikeys.services import verification
from apikeys.services.keyformat import build_key

GUESSES = 20


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("cap", ["key_id", "ip"])
def test_parallel_wrong_guesses_run_bcrypt_no_more_often_than_the_cap(
    issue_key, settings, monkeypatch, cap
):
    settings.APIKEY_MAX_FAILURES_PER_KEY = 5 if cap == "key_id" else 1000
    settings.APIKEY_MAX_FAILURES_PER_IP = 5 if cap == "ip" else 1000
    wrong = build_key(issue_key(["ncr:read"]).api_key.key_id)[0]
    checks: list[int] = []
    real_checkpw = verification.bcrypt.checkpw

    def slow_checkpw(*args: bytes) -> bool:
        checks.append(1)
        time.sleep(0.05)  # every guess is under way before the first one fails
        return real_checkpw(*args)

    monkeypatch.setattr(verification.bcrypt, "checkpw", slow_checkpw)
    start = threading.Barrier(GUESSES)

    def guess(n: int) -> str:
        ip = f"198.51.100.{n}" if cap == "key_id" else "203.0.113.7"
        start.wait()
        try:
            services.verify_key(wrong, ip)
        except services.KeyRejected:
            return "401"
        except services.TooManyFailures:
            return "429"
        finally:
            connections.close_all()
        return "200"

    with ThreadPoolExecutor(GUESSES) as pool:
        outcomes = list(pool.map(guess, range(GUESSES)))

    assert sorted(outcomes) == ["401"] * 5 + ["429"] * (GUESSES - 5)
    assert len(checks) == 5
    event = APIKeyEvent.objects.get(event_type="repeated_failures")
    assert event.details["capped"] == [cap]


@pytest.mark.django_db(transaction=True)
def test_a_busy_client_with_the_right_key_is_checked_once_and_never_capped(
    issue_key, settings, monkeypatch
):
    settings.APIKEY_MAX_FAILURES_PER_KEY = settings.APIKEY_MAX_FAILURES_PER_IP = 5
    right = issue_key(["ncr:read"]).key
    checks: list[int] = []
    real_checkpw = verification.bcrypt.checkpw

    def slow_checkpw(*args: bytes) -> bool:
        checks.append(1)
        time.sleep(0.05)  # every request arrives while the first check runs
        return real_checkpw(*args)

    monkeypatch.setattr(verification.bcrypt, "checkpw", slow_checkpw)
    start = threading.Barrier(GUESSES)

    def request(n: int) -> str:
        start.wait()
        try:
            services.verify_key(right, "203.0.113.7")
        except services.TooManyFailures:
            return "429"
        finally:
            connections.close_all()
        return "200"

    with ThreadPoolExecutor(GUESSES) as pool:
        outcomes = list(pool.map(request, range(GUESSES)))

    assert outcomes == ["200"] * GUESSES
    assert len(checks) == 1
