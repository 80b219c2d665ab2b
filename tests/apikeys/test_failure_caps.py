"""The failure caps: they hold when wrong guesses arrive in parallel (threads, the real cache),
bound the bcrypt work an attacker with many addresses causes, and lock no right client out."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.utils import timezone

from apikeys import services
from apikeys.keyformat import build_key, generate_key_id
from apikeys.models import APIKey, APIKeyEvent
from apikeys.services import verification

GUESSES = 20


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("cap", ["key_id_and_ip", "ip"])
def test_parallel_wrong_guesses_run_bcrypt_no_more_often_than_the_cap(
    issue_key, settings, monkeypatch, cap
):
    settings.APIKEY_MAX_FAILURES_PER_KEY_AND_IP = 5 if cap == "key_id_and_ip" else 1000
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
        ip = "203.0.113.7"
        start.wait()
        try:
            services.key_verify(wrong, ip)
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
    settings.APIKEY_MAX_FAILURES_PER_KEY_AND_IP = settings.APIKEY_MAX_FAILURES_PER_IP = 5
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
            services.key_verify(right, "203.0.113.7")
        except services.TooManyFailures:
            return "429"
        finally:
            connections.close_all()
        return "200"

    with ThreadPoolExecutor(GUESSES) as pool:
        outcomes = list(pool.map(request, range(GUESSES)))

    assert outcomes == ["200"] * GUESSES
    assert len(checks) == 1


class Second:
    """The clock of the slow lanes (time is the edge of the process): a fixed second."""

    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def time(self) -> float:
        return self.now

    def tick(self) -> None:
        self.now += 1


@pytest.fixture
def second(monkeypatch) -> Second:
    from apikeys.services import caps

    clock = Second()
    monkeypatch.setattr(caps, "time", clock)
    return clock


def statuses_of(key_client, key: str, ips: list[str]) -> list[int]:
    return [key_client(key, ip=ip).get("/api/ncrs/").status_code for ip in ips]


@pytest.mark.django_db
def test_a_key_guessed_from_many_addresses_alerts_and_slows_new_addresses_but_locks_nobody_out(
    issue_key, key_client, bcrypt_calls, settings, second
):
    settings.APIKEY_MAX_FAILURES_PER_KEY = 5
    settings.APIKEY_CACHE_TTL_SECONDS = 0  # every request of the right client runs bcrypt too
    issued = issue_key(["ncr:read"])
    known = key_client(issued.key, ip="192.0.2.10")
    assert known.get("/api/ncrs/").status_code == 200  # this address is now known to the key
    wrong = build_key(issued.api_key.key_id)[0]
    attackers = [f"198.51.100.{n}" for n in range(1, 60)]

    below = statuses_of(key_client, wrong, attackers[:5])
    event = APIKeyEvent.objects.get(event_type="repeated_failures")
    bcrypt_before = len(bcrypt_calls)
    same_second = statuses_of(key_client, wrong, attackers[5:50])
    slowed = key_client(wrong, ip=attackers[50]).get("/api/ncrs/")
    still_known = [known.get("/api/ncrs/").status_code for _ in range(3)]
    second.tick()
    newcomer = key_client(issued.key, ip="192.0.2.77").get("/api/ncrs/")

    assert below == [401] * 5
    assert event.details["capped"] == ["key_id"] and event.api_key_id == issued.api_key.pk
    # One check per second from addresses the key was never used from; the rest wait.
    assert same_second == [401] + [429] * 44
    assert slowed.status_code == 429 and slowed["Retry-After"] == "1"
    # The one admitted guess; the right key is known, so its requests need no bcrypt check.
    assert len(bcrypt_calls) - bcrypt_before == 1
    assert still_known == [200] * 3  # the client the key belongs to is not slowed
    assert newcomer.status_code == 200  # the right key from a new address, in its second


@pytest.mark.django_db
def test_guesses_that_fill_the_slowed_lane_never_keep_the_right_key_out_from_a_new_address(
    issue_key, key_client, bcrypt_calls, settings, second
):
    settings.APIKEY_MAX_FAILURES_PER_KEY = 5
    settings.APIKEY_CACHE_TTL_SECONDS = 0  # nothing answered from the verification cache
    issued = issue_key(["ncr:read"])
    assert key_client(issued.key, ip="192.0.2.10").get("/api/ncrs/").status_code == 200
    wrong = build_key(issued.api_key.key_id)[0]
    attackers = [f"198.51.100.{n}" for n in range(1, 30)]

    guessing = statuses_of(key_client, wrong, attackers)  # the lane's one check is taken
    bcrypt_before = len(bcrypt_calls)
    newcomers = statuses_of(key_client, issued.key, [f"203.0.113.{n}" for n in range(1, 9)])
    still_slowed = key_client(wrong, ip="198.51.100.200").get("/api/ncrs/")

    assert guessing[:6] == [401] * 6 and set(guessing[6:]) == {429}
    assert newcomers == [200] * 8  # in the same second, each from an address never seen
    assert len(bcrypt_calls) == bcrypt_before  # known to be right without a bcrypt check
    assert still_slowed.status_code == 429


@pytest.mark.django_db
def test_a_key_revoked_after_it_was_verified_is_refused_from_a_new_address(
    issue_key, key_client, bcrypt_calls, settings, second
):
    settings.APIKEY_MAX_FAILURES_PER_KEY = 5
    settings.APIKEY_CACHE_TTL_SECONDS = 0
    issued = issue_key(["ncr:read"])
    assert key_client(issued.key, ip="192.0.2.10").get("/api/ncrs/").status_code == 200
    services.apikey_revoke(key=issued.api_key, reason="leaked")

    after_revoke = key_client(issued.key, ip="203.0.113.1").get("/api/ncrs/")

    assert after_revoke.status_code == 401


@pytest.mark.django_db
def test_a_known_key_is_still_refused_once_expired_rotated_out_or_from_a_disallowed_network(
    issue_key, key_client, bcrypt_calls, settings
):
    settings.APIKEY_CACHE_TTL_SECONDS = 0  # every request goes past the verification cache
    expiring = issue_key(["ncr:read"], name="expiring")
    rotated = issue_key(["ncr:read"], name="rotated")
    fenced = issue_key(["ncr:read"], name="fenced", allowed_networks=["192.0.2.0/24"])
    for issued in (expiring, rotated, fenced):  # each is now known, with its generation
        assert key_client(issued.key, ip="192.0.2.10").get("/api/ncrs/").status_code == 200
    # Expiry passes without a change of the row's generation: the clock alone ends it.
    APIKey.objects.filter(pk=expiring.api_key.pk).update(
        expires_at=timezone.now() - timezone.timedelta(seconds=1)
    )
    successor = services.apikey_rotate(key=rotated.api_key, grace=timezone.timedelta(0))

    assert key_client(expiring.key, ip="203.0.113.9").get("/api/ncrs/").status_code == 401
    assert key_client(rotated.key, ip="203.0.113.9").get("/api/ncrs/").status_code == 401
    assert key_client(successor.key, ip="203.0.113.9").get("/api/ncrs/").status_code == 200
    assert key_client(fenced.key, ip="203.0.113.9").get("/api/ncrs/").status_code == 403
    assert key_client(fenced.key, ip="192.0.2.11").get("/api/ncrs/").status_code == 200
    wrong = build_key(fenced.api_key.key_id)[0]  # its key_id, another secret
    assert key_client(wrong, ip="192.0.2.10").get("/api/ncrs/").status_code == 401


@pytest.mark.django_db
def test_unknown_key_ids_from_one_address_cap_it_only_for_keys_never_verified_from_it(
    issue_key, key_client, bcrypt_calls, settings
):
    settings.APIKEY_MAX_FAILURES_PER_IP = 5
    settings.APIKEY_CACHE_TTL_SECONDS = 0
    used_here, other = issue_key(["ncr:read"]), issue_key(["ncr:read"])
    assert key_client(used_here.key, ip="203.0.113.5").get("/api/ncrs/").status_code == 200
    probes = [build_key(generate_key_id())[0] for _ in range(7)]

    probing = [key_client(p, ip="203.0.113.5").get("/api/ncrs/").status_code for p in probes]
    known_here = key_client(used_here.key, ip="203.0.113.5").get("/api/ncrs/")
    new_here = key_client(other.key, ip="203.0.113.5").get("/api/ncrs/")
    new_elsewhere = key_client(other.key, ip="203.0.113.6").get("/api/ncrs/")

    assert probing == [401] * 5 + [429] * 2
    # Unknown ids cost a check like any key; the key used here is known (no check); the
    # other key's first use elsewhere runs one.
    assert len(bcrypt_calls) == 1 + 5 + 1
    assert known_here.status_code == 200
    assert new_here.status_code == 429 and int(new_here["Retry-After"]) > 1
    assert new_elsewhere.status_code == 200
    event = APIKeyEvent.objects.get(event_type="repeated_failures")
    assert event.details["capped"] == ["ip"] and event.api_key is None


@pytest.mark.django_db
def test_guesses_spread_over_many_addresses_and_key_ids_stay_bounded_service_wide(
    issue_key, key_client, bcrypt_calls, settings, second
):
    settings.APIKEY_MAX_FAILURES = 10
    settings.APIKEY_CACHE_TTL_SECONDS = 0
    issued = issue_key(["ncr:read"])
    known = key_client(issued.key, ip="192.0.2.10")
    assert known.get("/api/ncrs/").status_code == 200
    before = len(bcrypt_calls)

    per_second = []
    for _ in range(3):
        guesses = [
            key_client(build_key(generate_key_id())[0], ip=f"10.{n // 250}.{n % 250}.1")
            .get("/api/ncrs/")
            .status_code
            for n in range(len(per_second) * 100, len(per_second) * 100 + 100)
        ]
        per_second.append(guesses.count(401))
        second.tick()

    assert per_second == [10 + 1, 1, 1]  # the cap, then one check a second
    assert len(bcrypt_calls) - before == 13
    assert [known.get("/api/ncrs/").status_code for _ in range(3)] == [200] * 3
    capped = APIKeyEvent.objects.get(event_type="repeated_failures", details__capped=["all"])
    assert capped.details["failures_of_service"] == 10


@pytest.mark.django_db
def test_unknown_revoked_and_expired_key_ids_run_the_same_bcrypt_check_as_a_wrong_secret(
    issue_key, key_client, monkeypatch, settings
):
    settings.APIKEY_BCRYPT_ROUNDS = 5
    live, revoked, expired = issue_key(["*"]), issue_key(["*"]), issue_key(["*"])
    services.apikey_revoke(key=revoked.api_key, reason="test")
    APIKey.objects.filter(pk=expired.api_key.pk).update(expires_at=timezone.now())
    costs: list[bytes] = []
    real = verification.bcrypt.checkpw

    def spy(secret: bytes, hashed: bytes) -> bool:
        costs.append(hashed[:7])  # "$2b$05$": algorithm and cost
        return real(secret, hashed)

    monkeypatch.setattr(verification.bcrypt, "checkpw", spy)
    presented = {
        "wrong secret": build_key(live.api_key.key_id)[0],
        "unknown": build_key(generate_key_id())[0],
        "revoked": revoked.key,
        "expired": expired.key,
    }

    answers = {
        name: key_client(key).get("/api/ncrs/").status_code for name, key in presented.items()
    }

    assert answers == dict.fromkeys(presented, 401)
    assert costs == [b"$2b$05$"] * 4
