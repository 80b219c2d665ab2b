"""No credential in a stored or returned message (a connection's test result and
`last_test_message`, run errors, row errors), in any form an API, proxy or driver may echo it,
wherever it falls in a long answer: messages are redacted whole, then cut."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from urllib.parse import quote, quote_from_bytes, quote_plus

import pytest
from django.core.management import CommandError, call_command

from quality import services as quality
from sync import services
from sync.models import Connection, SyncRowError, SyncRun
from tests.sync.rest_server import RESOURCE, FakeERP, Reply

pytestmark = pytest.mark.django_db
TOKEN = "tök/en+ä=1?&Z9"  # latin-1 (HTTP can carry it), and different in every encoding


@pytest.fixture
def erp() -> Iterator[FakeERP]:
    with FakeERP.running() as server:
        yield server


def rest_connection(erp: FakeERP, auth_type: str, credentials: dict) -> Connection:
    return services.connection_create(
        name="ERP",
        kind="rest",
        base_url=f"{erp.base_url}{RESOURCE[1:]}",
        auth_type=auth_type,
        credentials=credentials,
        options={"items_path": "items"},
    )


def outcome_of(api, connection: Connection) -> tuple[str, str]:
    """The message the test endpoint returns, and the one stored on the connection."""
    result = api.post(f"/api/sync/connections/{connection.pk}/test/").json()
    assert result["ok"] is False
    return result["message"], Connection.objects.get(pk=connection.pk).last_test_message


FORMS = {
    "raw": TOKEN,
    "url-encoded": quote(TOKEN, safe=""),
    "form-encoded": quote_plus(TOKEN),
    "latin-1 url-encoded": quote_from_bytes(TOKEN.encode("latin-1"), safe=""),
    "latin-1 bytes repr": repr(TOKEN.encode("latin-1")),
    "utf-8 bytes repr": repr(TOKEN.encode()),
    "base64": base64.b64encode(TOKEN.encode()).decode(),
    "repr of a header block": repr(f"Authorization: Bearer {TOKEN}\r\nAccept: */*\r\n"),
    "repr of that repr": repr(repr(f"Bearer {TOKEN}\r\n")),
    "json": json.dumps({"authorization": f"Bearer {TOKEN}"}),
}


# What each encoding makes of the token's first characters: none may be left anywhere.
FRAGMENTS = [
    "tök",
    "t%C3%B6",
    "t%F6",
    "t\\xf6",
    "t\\xc3",
    "t\\u00f6",
    "t\\\\x",
    base64.b64encode(TOKEN.encode())[:6].decode(),
]


@pytest.mark.parametrize("form", FORMS)
def test_a_token_echoed_in_any_encoding_across_the_200th_character_is_removed(admin_api, erp, form):
    shown = FORMS[form]
    start = min(shown.index(f) for f in FRAGMENTS if f in shown)
    prefix = "Error page. " * 20  # the token's encoding starts 12 characters before the cut
    body = prefix[: 188 - start] + shown
    erp.reply(RESOURCE, Reply(500, body.encode()))
    connection = rest_connection(erp, "bearer", {"token": TOKEN})

    for message in outcome_of(admin_api, connection):
        assert "HTTP 500" in message
        assert not [f for f in FRAGMENTS if f in message], (form, message)


def test_a_basic_auth_pair_echoed_across_the_cut_is_removed_as_requests_encodes_it(admin_api, erp):
    """The issue's finding: a truncated `Authorization: Basic …` escaped redaction and decoded
    to the user and password. requests sends the pair as latin-1."""
    erp.auth = ("basic", "sync", "pä55-wörd")
    erp.echo = ("x" * 173, "Authorization")  # the pair starts 6 characters before the cut
    connection = rest_connection(erp, "basic", {"username": "sync", "password": "pä55-wörd"})
    pair = base64.b64encode("sync:pä55-wörd".encode("latin-1")).decode()

    for message in outcome_of(admin_api, connection):
        assert "Authorization: Basic" in message
        assert pair[:4] not in message and "pä55" not in message


def test_a_numeric_token_and_a_short_one_are_removed_where_they_stand_alone(admin_api, erp):
    numeric = rest_connection(erp, "bearer", {"token": 98765432})
    erp.reply(RESOURCE, Reply(500, {"error": "token 98765432 expired"}))
    short = services.connection_create(
        name="short",
        kind="rest",
        base_url=f"{erp.base_url}{RESOURCE[1:]}",
        auth_type="bearer",
        credentials={"token": "Q7"},
    )

    numeric_message, _ = outcome_of(admin_api, numeric)
    erp.reply(RESOURCE, Reply(500, {"error": "bad token Q7; see /docs/Q7Q7"}))
    short_message, _ = outcome_of(admin_api, short)

    assert "98765432" not in numeric_message and "token *** expired" in numeric_message
    assert "bad token ***;" in short_message and "Q7Q7" in short_message  # only the token


def test_a_run_error_and_a_row_error_echoing_credentials_carry_none(erp, settings):
    settings.SYNC_LOCAL_SETTLE_SECONDS = 0
    erp.auth = ("header", "X-Api-Key", "k-S3CRET-123")
    connection = rest_connection(
        erp, "api_key_header", {"header": "X-Api-Key", "value": "k-S3CRET-123"}
    )
    config = services.configuration_create(
        name="ERP",
        system_type="ERP",
        connection=connection,
        entity_type="equipment",
        sync_direction="outbound",
        sync_type="full",
        remote_object="items",
        remote_key="id",
        field_mappings=[{"local": "name", "remote": "name"}],
    )
    quality.equipment_create(number="EQ-1", name="Caliper")
    erp.echo = ("x" * 180, "X-Api-Key")  # the value starts 9 characters before the cut

    with pytest.raises(CommandError):
        call_command("run_sync", str(config.pk))

    stored = [
        *SyncRun.objects.values_list("error", flat=True),
        *SyncRowError.objects.values_list("message", flat=True),
    ]
    assert stored and all("HTTP 500" in text for text in stored)
    assert not any("S3CRET" in text or "k-S3C" in text for text in stored)
