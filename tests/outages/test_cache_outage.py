"""Redis as the cache goes down mid-test: API keys keep working from the database, failure
caps and rate limits are counted in memory, nothing is logged per request, and what was
counted or changed during the outage reaches the cache once it is back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from apikeys import services
from apikeys.keyformat import build_key
from apikeys.models import APIKey
from apikeys.services import verification
from eqms_integration.outages import RETRY_AFTER_SECONDS
from tests.conftest import retry_is_due

pytestmark = pytest.mark.django_db(transaction=True)


def key_client(key: str, ip: str = "192.0.2.10") -> APIClient:
    client = APIClient(REMOTE_ADDR=ip)
    client.credentials(HTTP_X_API_KEY=key)
    return client


@pytest.fixture(autouse=True)
def _fresh_usage_buffer() -> Iterator[None]:
    from apikeys.services import usage

    with usage._buffer.lock:
        usage._buffer.pending.clear()
    yield
    with usage._buffer.lock:
        usage._buffer.pending.clear()


@pytest.fixture
def bcrypt_checks(monkeypatch) -> list[int]:
    checks: list[int] = []
    real = verification.bcrypt.checkpw
    monkeypatch.setattr(verification.bcrypt, "checkpw", lambda *a: checks.append(1) or real(*a))
    return checks


@pytest.fixture
def shared_retry_now():
    return lambda: retry_is_due("cache")


def test_keys_keep_working_while_the_cache_is_down_and_nothing_counted_is_lost(
    redis_cache, bcrypt_checks, log_lines, settings, shared_retry_now
):
    settings.APIKEY_MAX_FAILURES_PER_KEY_AND_IP = 3
    issued = services.apikey_create(name="ERP", scopes=["ncr:read", "ncr:write"])
    other = services.apikey_create(name="MES", scopes=["ncr:read"])
    limited = services.apikey_create(name="BI", scopes=["ncr:read"], rate_limit_per_minute=2)
    erp, mes, bi = key_client(issued.key), key_client(other.key), key_client(limited.key)
    assert erp.get("/api/ncrs/").status_code == 200  # verified and cached in Redis
    checks_before_outage = len(bcrypt_checks)

    redis_cache.stop()
    during = [erp.get("/api/ncrs/").status_code for _ in range(5)]
    created = erp.post("/api/ncrs/", {"title": "Found during the outage"}, format="json")
    first_of_mes = [mes.get("/api/ncrs/").status_code for _ in range(3)]
    wrong = key_client(build_key(issued.api_key.key_id)[0], ip="203.0.113.9")
    guesses = [wrong.get("/api/ncrs/").status_code for _ in range(5)]
    rate_limited = [bi.get("/api/ncrs/") for _ in range(3)]
    services.usage_push()  # fails: the counts stay in this process
    checks_during_outage = len(bcrypt_checks) - checks_before_outage

    redis_cache.start()  # empty: a cache restarted without persistence
    shared_retry_now()
    after = erp.get("/api/ncrs/")
    services.usage_push()
    services.usage_flush()

    assert during == [200] * 5  # answered from the memory of this process: no bcrypt
    assert created.status_code == 201
    assert first_of_mes == [200] * 3
    assert checks_during_outage == 1 + 3 + 1  # mes once, the 3 guesses, bi once
    assert guesses == [401] * 3 + [429] * 2  # caps held in memory
    assert [r.status_code for r in rate_limited] == [200, 200, 429]
    assert int(rate_limited[-1]["Retry-After"]) > 0
    assert after.status_code == 200
    usage = dict(APIKey.objects.values_list("name", "usage_count"))
    assert usage == {"ERP": 1 + 5 + 1 + 1, "MES": 3, "BI": 3}  # a throttled request counts
    lines = log_lines.outages("cache")
    assert len(lines) == 2
    assert lines[0].startswith("cache unavailable (ConnectionError: ")
    assert lines[1].startswith("cache available again")
    assert log_lines.tracebacks == []


def test_a_key_revoked_while_the_cache_is_unreachable_is_refused_during_and_after(
    redis_cache, django_capture_on_commit_callbacks, shared_retry_now
):
    issued = services.apikey_create(name="ERP", scopes=["ncr:read"])
    client = key_client(issued.key)
    assert client.get("/api/ncrs/").status_code == 200  # a verification cached in Redis

    redis_cache.pause()  # unreachable, but keeps what it holds
    with django_capture_on_commit_callbacks(execute=True):
        services.apikey_revoke(key=APIKey.objects.get(pk=issued.api_key.pk), reason="test")
    during = client.get("/api/ncrs/")
    redis_cache.resume()
    shared_retry_now()
    after = [client.get("/api/ncrs/").status_code for _ in range(2)]

    assert during.status_code == 401
    assert after == [401, 401]  # the cached verification of the old generation is dead
    generation = APIKey.objects.get(pk=issued.api_key.pk).generation
    assert cache.get(f"apikeys:generation:{issued.api_key.key_id}") == generation


def test_a_request_that_needs_the_cache_for_itself_answers_503_while_it_is_down(
    redis_cache, make_user, log_lines, settings
):
    from webhooks import services as webhooks

    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    user = make_user("manager", role="Manager")
    subscription, _ = webhooks.subscription_create(
        name="ERP", url="http://127.0.0.1:9/hook", events=["ncr.created"]
    )
    client = APIClient()
    client.force_authenticate(user)

    redis_cache.stop()
    # The per-user throttle of test sends counts in the cache; it cannot be skipped.
    answers = [client.post(f"/api/webhooks/{subscription.pk}/test/") for _ in range(2)]

    assert [a.status_code for a in answers] == [503, 503]
    assert answers[0].json()["code"] == "service_unavailable"
    assert answers[0]["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert len(log_lines.outages("cache")) == 1 and log_lines.tracebacks == []


def test_the_outage_is_retried_every_few_seconds_not_on_every_request(redis_cache, monkeypatch):
    issued = services.apikey_create(name="ERP", scopes=["ncr:read"])
    client = key_client(issued.key)
    redis_cache.stop()
    from django.core.cache.backends.redis import RedisCache

    attempts: list[int] = []
    real_get_many = RedisCache.get_many

    def counting(self, *args, **kwargs):
        attempts.append(1)
        return real_get_many(self, *args, **kwargs)

    monkeypatch.setattr(RedisCache, "get_many", counting)
    answers = [client.get("/api/ncrs/").status_code for _ in range(10)]
    retry_is_due("cache")
    client.get("/api/ncrs/")

    assert answers == [200] * 10
    assert len(attempts) == 1 + 1  # the first request, then one after the retry interval
