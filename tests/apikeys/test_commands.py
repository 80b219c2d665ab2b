"""Operator commands for API keys."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apikeys.keyformat import parse_key
from apikeys.models import APIKey, APIKeyEvent

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_api_key_prints_json_with_the_key_once(settings):
    output = run(
        "create_api_key",
        "--name",
        "MES",
        "--scope",
        "ncr:read",
        "--scope",
        "capa:read",
        "--allow-ip",
        "10.0.0.0/8",
        "--expires-in-days",
        "30",
        "--json",
    )

    data = json.loads(output)
    key = APIKey.objects.get(pk=data["id"])
    assert parse_key(data["key"]).key_id == data["key_id"] == key.key_id
    assert (key.scopes, key.allowed_networks) == (["ncr:read", "capa:read"], ["10.0.0.0/8"])
    assert key.expires_at is not None
    assert APIKeyEvent.objects.get().actor_repr == "manage.py create_api_key"


def test_create_api_key_refuses_unknown_scopes_and_past_expiry():
    with pytest.raises(CommandError, match="Unknown scope"):
        run("create_api_key", "--name", "X", "--scope", "everything")
    with pytest.raises(CommandError, match="in the future"):
        run("create_api_key", "--name", "X", "--scope", "*", "--expires-at", "2001-01-01T00:00")
    with pytest.raises(CommandError, match="not an ISO 8601"):
        run("create_api_key", "--name", "X", "--scope", "*", "--expires-at", "tomorrow")
    assert not APIKey.objects.exists()


def test_list_revoke_and_rotate_by_key_id():
    first = json.loads(run("create_api_key", "--name", "ERP", "--scope", "*", "--json"))
    second = json.loads(run("create_api_key", "--name", "MES", "--scope", "*", "--json"))

    revoked = run("revoke_api_key", first["key_id"], "--reason", "decommissioned")
    rotated = json.loads(run("rotate_api_key", str(second["id"]), "--grace-seconds", "0", "--json"))
    listing = run("list_api_keys")
    active = run("list_api_keys", "--active")

    assert "Revoked API key 'ERP'" in revoked
    assert APIKey.objects.get(pk=first["id"]).revocation_reason == "decommissioned"
    assert APIKey.objects.get(pk=second["id"]).state == "revoked"
    assert rotated["key"] not in listing and first["key"] not in listing
    assert "3 keys" in listing and "1 key" in active
    assert rotated["key_id"] in active


def test_revoking_an_unknown_key_is_a_clear_error():
    with pytest.raises(CommandError, match="No API key with id or key_id 'nope'"):
        run("revoke_api_key", "nope", "--reason", "gone")


def test_rotate_api_key_keeps_the_old_key_for_24_hours_by_default():
    created = json.loads(run("create_api_key", "--name", "ERP", "--scope", "*", "--json"))

    output = run("rotate_api_key", created["key_id"])

    old = APIKey.objects.get(pk=created["id"])
    assert old.state == "active"
    left = old.expires_at - timezone.now()
    assert timedelta(hours=24) - timedelta(seconds=10) < left <= timedelta(hours=24)
    assert "The old key works for 86400 more seconds." in output


def test_an_expiry_beyond_year_9999_is_a_clear_error_not_a_traceback():
    with pytest.raises(CommandError, match=r"--expires-in-days must be between 1 and \d+ \(the"):
        run("create_api_key", "--name", "X", "--scope", "*", "--expires-in-days", "100000000")
    with pytest.raises(CommandError, match="expires_at: The expiry must be before the year 10000"):
        run(
            "create_api_key",
            "--name",
            "X",
            "--scope",
            "*",
            "--expires-at",
            "9999-12-31T23:59:59-14:00",
        )
    assert not APIKey.objects.exists()


@pytest.mark.parametrize("grace", [str(10**15), str(30 * 24 * 3600 + 1), "-1"])
def test_a_grace_period_outside_0_to_30_days_is_a_clear_error_as_in_the_api(grace):
    created = json.loads(run("create_api_key", "--name", "ERP", "--scope", "*", "--json"))

    with pytest.raises(CommandError, match=r"--grace-seconds must be between 0 and 2592000 \(30"):
        run("rotate_api_key", created["key_id"], "--grace-seconds", grace)

    assert APIKey.objects.get().state == "active"


@pytest.mark.parametrize(
    ("scopes", "said"),
    [(["ncr:fly"], "Unknown scope: 'ncr:fly'."), (["a:b", "c:d"], "Unknown scopes: 'a:b', 'c:d'.")],
)
def test_unknown_scopes_are_named_in_the_singular_or_the_plural(scopes, said):
    args = [part for scope in scopes for part in ("--scope", scope)]

    with pytest.raises(CommandError) as refused:
        run("create_api_key", "--name", "ERP", *args)

    assert said in str(refused.value)


def test_list_api_keys_counts_one_key_in_the_singular():
    run("create_api_key", "--name", "ERP", "--scope", "*")

    assert run("list_api_keys").rstrip().endswith("\n1 key")
