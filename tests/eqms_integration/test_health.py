"""/healthz says the process is up; /readyz says whether database, broker and cache answer."""

from __future__ import annotations

import pytest
from django.utils import timezone

from eqms_integration.celery import app as celery_app
from operations.services import heartbeat_record

pytestmark = pytest.mark.django_db

CLOSED_PORT_REDIS = "redis://127.0.0.1:9/0"  # discard port: nothing listens there


def test_healthz_answers_ok_without_touching_any_service(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


def test_readyz_is_ready_when_database_broker_cache_a_worker_and_beat_answer(client):
    for kind in ("worker", "beat"):
        heartbeat_record(kind=kind, name=f"{kind}@host", started_at=timezone.now())

    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "broker": True,
        "cache": True,
        "worker": True,
        "beat": True,
    }


def test_readyz_is_503_when_the_broker_cannot_be_reached(client, monkeypatch):
    monkeypatch.setitem(celery_app.conf, "broker_url", CLOSED_PORT_REDIS)

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
    assert "127.0.0.1:9" not in response.content.decode()  # no connection details leak


def test_readyz_is_503_when_the_cache_cannot_be_reached(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CLOSED_PORT_REDIS,
        }
    }

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["cache"]["ok"] is False


@pytest.mark.redis
def test_readyz_is_ready_with_a_real_redis_as_broker_and_cache(
    client, settings, monkeypatch, redis_url
):
    monkeypatch.setitem(celery_app.conf, "broker_url", redis_url)
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    }

    response = client.get("/readyz")

    assert response.status_code == 200, response.json()


def test_probes_answer_plain_http_even_when_https_is_enforced(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    assert client.get("/api/ncrs/").status_code == 301
