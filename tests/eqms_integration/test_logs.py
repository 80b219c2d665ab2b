"""Logs: one JSON object per line with LOG_FORMAT=json, the request id on every line of a
request, secrets masked whatever the format, and no traceback for an expected 403/404."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import signal

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model

from eqms_integration.logconfig import logging_config
from tests.conftest import WORKER_ARGS, stop
from tests.webhooks.conftest import wait_for

pytestmark = pytest.mark.django_db
CLIENT_ID = "erp-7f3a9c21-req"


@pytest.fixture
def capture():
    """Install the service's logging in the given format, the console writing to a buffer;
    returns the lines written so far."""
    buffer = io.StringIO()

    def install(log_format: str):
        logging.config.dictConfig(logging_config("INFO", log_format))
        [handler] = logging.getLogger().handlers
        handler.setStream(buffer)
        return lambda: [line for line in buffer.getvalue().splitlines() if line]

    yield install
    logging.config.dictConfig(django_settings.LOGGING)


def test_json_lines_carry_time_level_logger_message_and_the_clients_request_id(client, capture):
    lines = capture("json")

    response = client.get("/api/no-such-endpoint/", HTTP_X_REQUEST_ID=CLIENT_ID)

    assert response.status_code == 404
    assert response["X-Request-ID"] == CLIENT_ID
    [entry] = [json.loads(line) for line in lines()]
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "django.request"
    assert entry["message"] == "Not Found: /api/no-such-endpoint/"
    assert entry["request_id"] == CLIENT_ID
    assert entry["time"].endswith("+00:00") and "T" in entry["time"]
    assert "exception" not in entry


@pytest.mark.parametrize(
    "presented",
    [None, "", "-leading-dash", "has space in it", "x" * 129, 'quote"d-123456', "é" * 10],
)
def test_a_missing_or_malformed_request_id_is_replaced_by_a_new_one(client, capture, presented):
    lines = capture("json")
    extra = {} if presented is None else {"HTTP_X_REQUEST_ID": presented}

    response = client.get("/api/no-such-endpoint/", **extra)

    generated = response["X-Request-ID"]
    assert generated != presented and len(generated) == 32 and int(generated, 16) >= 0
    assert json.loads(lines()[0])["request_id"] == generated


def test_each_request_gets_its_own_id_and_none_outlives_it(client, capture):
    lines = capture("json")

    first = client.get("/api/nope/")["X-Request-ID"]
    second = client.get("/api/nope/")["X-Request-ID"]
    logging.getLogger("eqms.probe").info("outside any request")

    entries = [json.loads(line) for line in lines()]
    assert first != second
    assert [e["request_id"] for e in entries] == [first, second, None]


def test_plain_lines_show_the_request_id_too(client, capture):
    lines = capture("plain")

    client.get("/api/nope/", HTTP_X_REQUEST_ID=CLIENT_ID)
    logging.getLogger("eqms.probe").info("outside any request")

    request_line, outside = lines()
    assert f"django.request [{CLIENT_ID}] Not Found: /api/nope/" in request_line
    assert outside.endswith("eqms.probe outside any request")


def test_an_exception_is_one_json_line_with_its_traceback_and_secrets_masked(capture):
    lines = capture("json")
    key = "eqms_abcdefABCDEF_" + "s3cr3t" * 8

    try:
        raise RuntimeError(f"receiver refused {key}")
    except RuntimeError:
        logging.getLogger("webhooks.services.delivery").exception("delivery 7 failed with %s", key)

    [line] = lines()
    entry = json.loads(line)
    assert entry["message"] == "delivery 7 failed with [redacted]"
    assert entry["exception"].startswith("Traceback (most recent call last)")
    assert "RuntimeError: receiver refused [redacted]" in entry["exception"]
    assert key not in line


def test_a_forbidden_admin_page_is_one_warning_line_without_a_traceback(client, capture):
    get_user_model().objects.create_user("clerk", password="pw-12345678", is_staff=True)
    client.login(username="clerk", password="pw-12345678")
    lines = capture("plain")

    response = client.get("/admin/webhooks/webhooksubscription/")

    assert response.status_code == 403
    [line] = lines()  # Django attaches the PermissionDenied: no traceback follows it
    assert "WARNING django.request" in line
    assert "Forbidden (Permission denied): /admin/webhooks/webhooksubscription/" in line


def test_a_forbidden_api_call_is_one_line_too(client_for, capture):
    lines = capture("json")

    response = client_for("Auditor").post("/api/ncrs/", {"title": "x"})

    assert response.status_code == 403
    [entry] = [json.loads(line) for line in lines()]
    assert entry["message"] == "Forbidden: /api/ncrs/" and "exception" not in entry


def test_a_server_error_keeps_its_traceback(capture):
    lines = capture("json")

    try:
        raise ValueError("bug")
    except ValueError:
        logging.getLogger("django.request").error(
            "Internal Server Error: /x", exc_info=True, extra={"status_code": 500}
        )

    assert "ValueError: bug" in json.loads(lines()[0])["exception"]


# Celery prints these itself, outside logging: as root (this CI) a warning before logging is
# set up, and the shutdown notice on a signal. Its banner is off with --quiet.
CELERY_PRINTS = ("worker: Warm shutdown (MainProcess)",)


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_logs_json_through_the_service_logging(start_celery, tmp_path):
    import os

    from operations.models import Heartbeat

    worker = start_celery("worker", "--quiet", *WORKER_ARGS, "--pool", "solo", LOG_FORMAT="json")
    wait_for(lambda: Heartbeat.objects.filter(kind="worker").exists(), timeout=90)
    stop(worker, signal.SIGTERM)

    text = (tmp_path / "worker.log").read_text()
    as_root = os.geteuid() == 0
    if as_root:  # the root warning is one block at the very start, before any log line
        text = text[text.index("\n{") + 1 :] if "SecurityWarning" in text else text
    lines = [line for line in text.splitlines() if line]
    entries = [json.loads(line) for line in lines if line not in CELERY_PRINTS]
    assert any(e["message"] == "Connected to filesystem://:**@localhost//" for e in entries)
    assert any(e["message"].endswith(" ready.") for e in entries)
    assert all({"time", "level", "logger", "message", "request_id"} <= set(e) for e in entries)
