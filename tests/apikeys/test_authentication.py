"""Calling the API with a key: who gets in, what it costs, and how changes take effect."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from apikeys import keyformat, services
from apikeys.models import APIKey, APIKeyEvent
from quality.models import NCR

pytestmark = pytest.mark.django_db

UNAUTHORIZED = {
    "code": "authentication_failed",
    "message": "Invalid or missing API key.",
    "errors": {},
}


def later(seconds: float):
    """Moves the clock of authentication forward (time is the only thing mocked)."""
    moved = timezone.now() + timedelta(seconds=seconds)
    return mock.patch("apikeys.authentication.timezone.now", return_value=moved)


@pytest.mark.parametrize("bearer", [False, True])
def test_a_key_with_the_read_scope_lists_ncrs_by_header_or_bearer(issue_key, key_client, bearer):
    issued = issue_key(["ncr:read"])

    response = key_client(issued.key, bearer=bearer).get("/api/ncrs/")

    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_a_key_with_the_write_scope_creates_and_closes_an_ncr(issue_key, key_client):
    client = key_client(issue_key(["ncr:write"]).key)

    created = client.post("/api/ncrs/", {"title": "From ERP"}, format="json")
    closed = client.post(f"/api/ncrs/{created.json()['id']}/close/")

    assert created.status_code == 201 and closed.status_code == 200
    assert NCR.objects.get().status == "closed"


@pytest.mark.parametrize(
    "kind", ["malformed", "bad checksum", "unknown", "wrong secret", "revoked", "expired"]
)
def test_every_bad_key_gets_the_same_401(issue_key, key_client, kind):
    issued = issue_key(["ncr:read"])
    raw = issued.key
    if kind == "malformed":
        raw = "not-a-key"
    elif kind == "bad checksum":
        raw = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    elif kind == "unknown":
        raw = issue_key(["ncr:read"]).key
        APIKey.objects.filter(key_id=raw.split("_")[1]).delete()
    elif kind == "wrong secret":
        other = keyformat.build_key(issued.api_key.key_id)[0]
        raw = other
    elif kind == "revoked":
        services.apikey_revoke(key=issued.api_key, reason="test")
    elif kind == "expired":
        APIKey.objects.filter(pk=issued.api_key.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )

    response = key_client(raw).get("/api/ncrs/")

    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_garbage_keys_are_refused_without_any_database_query(key_client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = key_client("eqms_definitely_not_a_key").get("/api/ncrs/")

    assert response.status_code == 401


def test_a_missing_scope_is_a_403_naming_that_scope_only(issue_key, key_client):
    client = key_client(issue_key(["ncr:read", "capa:read"]).key)

    response = client.post("/api/ncrs/", {"title": "x"}, format="json")

    assert response.status_code == 403
    assert response.json()["message"] == "This API key lacks the scope 'ncr:write'."
    assert "capa:read" not in response.content.decode()
    assert NCR.objects.count() == 0


def test_the_wildcard_scope_grants_every_resource(issue_key, key_client):
    client = key_client(issue_key(["*"]).key)

    for path in ("/api/ncrs/", "/api/capas/", "/api/equipment/", "/api/suppliers/"):
        assert client.get(path).status_code == 200


def test_keys_cannot_manage_keys_even_with_the_wildcard(issue_key, key_client):
    response = key_client(issue_key(["*"]).key).get("/api/api-keys/")

    assert response.status_code == 403
    assert response.json()["message"] == "API keys cannot use this endpoint."


@pytest.mark.parametrize(
    ("networks", "ip", "allowed"),
    [
        (["10.0.0.0/8"], "10.1.2.3", True),
        (["10.0.0.0/8"], "192.168.1.1", False),
        (["2001:db8::/32"], "2001:db8::5", True),
        (["2001:db8::/32"], "2001:db9::5", False),
        (["192.0.2.7"], "::ffff:192.0.2.7", True),
        ([], "203.0.113.9", True),
    ],
)
def test_the_network_allowlist_is_enforced(issue_key, key_client, networks, ip, allowed):
    issued = issue_key(["ncr:read"], allowed_networks=networks)

    response = key_client(issued.key, ip=ip).get("/api/ncrs/")

    assert response.status_code == (200 if allowed else 403)


def test_the_allowlist_holds_on_cached_verifications_too(issue_key, key_client):
    issued = issue_key(["ncr:read"], allowed_networks=["10.0.0.0/8"])
    assert key_client(issued.key, ip="10.0.0.1").get("/api/ncrs/").status_code == 200

    assert key_client(issued.key, ip="172.16.0.1").get("/api/ncrs/").status_code == 403


def test_x_forwarded_for_is_ignored_unless_proxies_are_trusted(issue_key, key_client, settings):
    issued = issue_key(["ncr:read"], allowed_networks=["10.0.0.0/8"])
    client = key_client(issued.key, ip="172.16.0.1")

    assert client.get("/api/ncrs/", HTTP_X_FORWARDED_FOR="10.0.0.1").status_code == 403
    settings.API_NUM_PROXIES = 1
    assert client.get("/api/ncrs/", HTTP_X_FORWARDED_FOR="10.0.0.1").status_code == 200


def test_a_cold_request_costs_one_query_and_one_bcrypt_a_warm_one_neither(
    issue_key, key_client, bcrypt_calls, django_assert_num_queries
):
    client = key_client(issue_key(["ncr:read"]).key)
    ncr_list_queries = 1  # the (empty) list's own count

    with django_assert_num_queries(1 + ncr_list_queries):
        assert client.get("/api/ncrs/").status_code == 200
    assert len(bcrypt_calls) == 1
    with django_assert_num_queries(0 + ncr_list_queries):
        assert client.get("/api/ncrs/").status_code == 200
    assert len(bcrypt_calls) == 1


def test_a_cached_key_stops_working_when_its_expiry_passes(issue_key, key_client):
    issued = issue_key(["ncr:read"], expires_at=timezone.now() + timedelta(seconds=30))
    client = key_client(issued.key)
    assert client.get("/api/ncrs/").status_code == 200

    with later(31):
        response = client.get("/api/ncrs/")

    assert response.status_code == 401


def test_responses_to_an_expiring_key_say_when_it_expires(issue_key, key_client):
    expires = timezone.now() + timedelta(days=3)
    issued = issue_key(["ncr:read"], expires_at=expires)

    response = key_client(issued.key).get("/api/ncrs/")

    assert response["X-API-Key-Expires"] == expires.isoformat()
    assert "X-API-Key-Expires" not in key_client(issue_key(["ncr:read"]).key).get("/api/ncrs/")


def test_revocation_holds_on_the_very_next_request_despite_the_cache(
    issue_key, key_client, django_capture_on_commit_callbacks
):
    issued = issue_key(["ncr:read"])
    client = key_client(issued.key)
    assert client.get("/api/ncrs/").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        services.apikey_revoke(key=issued.api_key, reason="leaked")

    assert client.get("/api/ncrs/").status_code == 401


def test_removing_a_scope_holds_on_the_very_next_request(
    issue_key, key_client, django_capture_on_commit_callbacks
):
    issued = issue_key(["ncr:read", "capa:read"])
    client = key_client(issued.key)
    assert client.get("/api/capas/").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        services.apikey_update(key=issued.api_key, data={"scopes": ["ncr:read"]})

    assert client.get("/api/capas/").status_code == 403
    assert client.get("/api/ncrs/").status_code == 200


def test_a_rotated_key_and_its_predecessor_both_work_during_the_grace_only_the_new_after(
    issue_key, key_client, django_capture_on_commit_callbacks
):
    old = issue_key(["ncr:read"])
    assert key_client(old.key).get("/api/ncrs/").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        new = services.apikey_rotate(key=old.api_key, grace=timedelta(hours=1))

    assert key_client(old.key).get("/api/ncrs/").status_code == 200
    assert key_client(new.key).get("/api/ncrs/").status_code == 200
    with later(3601):
        assert key_client(old.key).get("/api/ncrs/").status_code == 401
        assert key_client(new.key).get("/api/ncrs/").status_code == 200


def test_rotation_with_no_grace_stops_the_old_key_at_once(
    issue_key, key_client, django_capture_on_commit_callbacks
):
    old = issue_key(["ncr:read"])
    key_client(old.key).get("/api/ncrs/")

    with django_capture_on_commit_callbacks(execute=True):
        new = services.apikey_rotate(key=old.api_key, grace=timedelta(0))

    assert key_client(old.key).get("/api/ncrs/").status_code == 401
    assert key_client(new.key).get("/api/ncrs/").status_code == 200


def test_repeated_wrong_secrets_for_one_key_from_one_address_are_capped_for_that_address_only(
    issue_key, key_client, bcrypt_calls, settings
):
    settings.APIKEY_MAX_FAILURES_PER_KEY_AND_IP = 3
    settings.APIKEY_CACHE_TTL_SECONDS = 0  # every right key runs bcrypt too
    issued = issue_key(["ncr:read"])
    wrong = keyformat.build_key(issued.api_key.key_id)[0]

    statuses = [
        key_client(wrong, ip="203.0.113.66").get("/api/ncrs/").status_code for _ in range(6)
    ]
    capped = key_client(wrong, ip="203.0.113.66").get("/api/ncrs/")
    elsewhere = key_client(issued.key, ip="198.51.100.1").get("/api/ncrs/")

    assert statuses == [401, 401, 401, 429, 429, 429]
    assert int(capped["Retry-After"]) == settings.APIKEY_FAILURE_WINDOW_SECONDS
    assert elsewhere.status_code == 200  # the right key from an address that was not guessing
    assert len(bcrypt_calls) == 3 + 1
    event = APIKeyEvent.objects.get(event_type="repeated_failures")
    assert event.key_id == issued.api_key.key_id and event.details["capped"] == ["key_id_and_ip"]
    assert event.api_key_id == issued.api_key.pk


def test_a_client_already_verified_keeps_working_while_its_key_id_is_under_attack(
    issue_key, key_client, settings
):
    settings.APIKEY_MAX_FAILURES_PER_KEY_AND_IP = 2
    issued = issue_key(["ncr:read"])
    good = key_client(issued.key)
    assert good.get("/api/ncrs/").status_code == 200
    wrong = keyformat.build_key(issued.api_key.key_id)[0]
    for _ in range(3):
        key_client(wrong, ip="203.0.113.66").get("/api/ncrs/")

    assert good.get("/api/ncrs/").status_code == 200


def test_repeated_failures_from_one_address_are_capped_across_keys(
    issue_key, key_client, bcrypt_calls, settings
):
    settings.APIKEY_MAX_FAILURES_PER_IP = 4
    wrong_keys = [keyformat.build_key(issue_key(["ncr:read"]).api_key.key_id)[0] for _ in range(6)]

    statuses = [key_client(k, ip="203.0.113.5").get("/api/ncrs/").status_code for k in wrong_keys]

    assert statuses == [401, 401, 401, 401, 429, 429]
    assert len(bcrypt_calls) == 4
    assert key_client(wrong_keys[5], ip="203.0.113.6").get("/api/ncrs/").status_code == 401


def test_an_ipv6_client_rotating_addresses_within_its_64_is_capped_as_one_address(
    issue_key, key_client, bcrypt_calls, settings
):
    settings.APIKEY_MAX_FAILURES_PER_IP = 3
    wrong_keys = [keyformat.build_key(issue_key(["ncr:read"]).api_key.key_id)[0] for _ in range(5)]
    addresses = [f"2001:db8:7:42:{n:x}:{n * 7919:x}::{n + 1:x}" for n in range(5)]

    statuses = [
        key_client(k, ip=ip).get("/api/ncrs/").status_code
        for k, ip in zip(wrong_keys, addresses, strict=True)
    ]

    assert statuses == [401, 401, 401, 429, 429]
    assert len(bcrypt_calls) == 3
    event = APIKeyEvent.objects.get(event_type="repeated_failures")
    assert event.details["capped"] == ["ip"] and event.details["ip_bucket"] == "2001:db8:7:42::/64"
    # The next /64 is another client.
    assert key_client(wrong_keys[4], ip="2001:db8:7:43::1").get("/api/ncrs/").status_code == 401


def test_a_correct_key_does_not_spend_the_failure_budget(
    issue_key, key_client, bcrypt_calls, settings
):
    settings.APIKEY_MAX_FAILURES_PER_KEY_AND_IP = 2
    settings.APIKEY_MAX_FAILURES_PER_IP = 2
    settings.APIKEY_CACHE_TTL_SECONDS = 0  # no cached verification: every request runs bcrypt
    issued = issue_key(["ncr:read"])
    wrong = key_client(keyformat.build_key(issued.api_key.key_id)[0])
    right = key_client(issued.key)

    first_wrong = wrong.get("/api/ncrs/").status_code
    rights = [right.get("/api/ncrs/").status_code for _ in range(5)]
    then_wrong = [wrong.get("/api/ncrs/").status_code for _ in range(2)]

    assert (first_wrong, rights, then_wrong) == (401, [200] * 5, [401, 429])
    assert len(bcrypt_calls) == 7


def test_the_per_key_rate_limit_answers_429_with_retry_after(issue_key, key_client):
    client = key_client(issue_key(["ncr:read"], rate_limit_per_minute=3).key)

    statuses = [client.get("/api/ncrs/").status_code for _ in range(4)]
    limited = client.get("/api/ncrs/")

    assert statuses == [200, 200, 200, 429]
    assert limited.json()["code"] == "throttled"
    assert 1 <= int(limited["Retry-After"]) <= 60


def test_usage_is_counted_without_writes_and_flushed_by_the_periodic_task(
    issue_key, key_client, django_assert_num_queries
):
    from apikeys.tasks import flush_api_key_usage

    issued = issue_key(["ncr:read"])
    client = key_client(issued.key, ip="192.0.2.44")
    client.get("/api/ncrs/")
    with django_assert_num_queries(1):  # the empty list's own count: no write
        client.get("/api/ncrs/")

    assert APIKey.objects.get(pk=issued.api_key.pk).usage_count == 0
    services.usage_push()  # what each process's background thread does every few seconds
    assert flush_api_key_usage() == 1
    key = APIKey.objects.get(pk=issued.api_key.pk)
    assert key.usage_count == 2
    assert key.last_used_ip == "192.0.2.44" and key.last_used_at is not None
    assert flush_api_key_usage() == 0  # nothing new: nothing written


def test_celery_beat_runs_the_usage_flush_on_the_configured_interval(
    issue_key, key_client, settings
):
    from eqms_integration.celery import app

    entry = app.conf.beat_schedule["apikeys-flush-usage"]
    assert entry["schedule"] == settings.APIKEY_USAGE_FLUSH_SECONDS
    assert entry["task"] in app.tasks
    issued = issue_key(["ncr:read"])
    key_client(issued.key).get("/api/ncrs/")
    services.usage_push()

    assert app.tasks[entry["task"]]() == 1  # the scheduled name runs the flush
    assert APIKey.objects.get(pk=issued.api_key.pk).usage_count == 1


def test_a_change_of_networks_through_the_api_holds_on_the_next_request_despite_the_cache(
    admin_api, issue_key, key_client, bcrypt_calls, django_capture_on_commit_callbacks
):
    issued = issue_key(["ncr:read"], allowed_networks=["10.0.0.0/8"])
    client = key_client(issued.key, ip="10.1.2.3")
    assert [client.get("/api/ncrs/").status_code for _ in range(2)] == [200, 200]
    assert len(bcrypt_calls) == 1  # the second request was served from the cache

    with django_capture_on_commit_callbacks(execute=True):
        changed = admin_api.patch(
            f"/api/api-keys/{issued.api_key.pk}/",
            {"allowed_networks": ["192.168.0.0/16"]},
            format="json",
        )

    assert changed.status_code == 200
    assert client.get("/api/ncrs/").status_code == 403
    assert key_client(issued.key, ip="192.168.7.7").get("/api/ncrs/").status_code == 200


def test_a_change_of_expiry_through_the_api_holds_on_the_next_request_despite_the_cache(
    admin_api, issue_key, key_client, bcrypt_calls, django_capture_on_commit_callbacks
):
    issued = issue_key(["ncr:read"])
    client = key_client(issued.key)
    assert [client.get("/api/ncrs/").status_code for _ in range(2)] == [200, 200]
    assert len(bcrypt_calls) == 1
    expires = timezone.now() + timedelta(seconds=30)

    with django_capture_on_commit_callbacks(execute=True):
        changed = admin_api.patch(
            f"/api/api-keys/{issued.api_key.pk}/",
            {"expires_at": expires.isoformat()},
            format="json",
        )

    assert changed.status_code == 200
    assert client.get("/api/ncrs/")["X-API-Key-Expires"] == expires.isoformat()
    with later(31):
        assert client.get("/api/ncrs/").status_code == 401


def test_a_key_expiring_at_the_latest_representable_time_works(key_client, admin_api):
    created = admin_api.post(
        "/api/api-keys/",
        {"name": "ERP", "scopes": ["ncr:read"], "expires_at": "9999-12-31T23:59:59Z"},
        format="json",
    )

    response = key_client(created.json()["key"]).get("/api/ncrs/")

    assert created.status_code == 201
    assert response.status_code == 200
    assert response["X-API-Key-Expires"] == "9999-12-31T23:59:59+00:00"


def test_request_user_of_a_key_request_names_the_key(issue_key):
    from apikeys.principal import KeyUser
    from apikeys.services.verification import principal_of

    issued = issue_key(["ncr:read"], name="SAP ERP")
    user = KeyUser(principal=principal_of(issued.api_key))

    assert str(user) == f"API key 'SAP ERP' ({issued.api_key.key_id})"
    assert user.is_authenticated and not user.is_staff and not user.has_perm("quality.view_ncr")
