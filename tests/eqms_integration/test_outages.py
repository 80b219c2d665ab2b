"""A backing service that is down is a 503 with Retry-After and one log line per outage, on
every path: REST (session or key), admin, probes; never a 500 with a traceback per request.

The database is made unreachable for real: the test's connection is pointed at a database
file in a directory that does not exist (SQLite) or at a port nobody listens on (PostgreSQL),
then pointed back. tests/outages/ stops and restarts real servers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import OperationalError, connection
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework.test import APIClient, APIRequestFactory

from apikeys import services as keys
from eqms_integration.api.errors import api_aware_500
from eqms_integration.api.exceptions import exception_handler
from tests.conftest import unreachable_database


@contextmanager
def database_down(tmp_path) -> Iterator[None]:
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(unreachable_database(saved, tmp_path))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def assert_unavailable(response, service: str = "database") -> None:
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert response.json() == {
        "code": "service_unavailable",
        "message": f"The {service} is unavailable; retry after the seconds given in Retry-After.",
        "errors": {},
    }


@pytest.mark.django_db(transaction=True)
def test_rest_requests_while_the_database_is_down_get_503_and_the_outage_is_logged_once(
    make_user, tmp_path, log_lines
):
    session = APIClient()
    session.force_login(make_user("auditor", role="Auditor"))
    issued = keys.apikey_create(name="ERP", scopes=["ncr:read", "ncr:write"])
    key = APIClient()
    key.credentials(HTTP_X_API_KEY=issued.key)
    assert key.get("/api/ncrs/").status_code == 200  # now cached: no database to verify it

    with database_down(tmp_path):
        answers = [
            session.get("/api/ncrs/"),
            session.get("/api/capas/?status=open"),
            key.get("/api/ncrs/"),
            key.post("/api/ncrs/", {"title": "Weld crack"}, format="json"),
            key.get("/api/ncrs/1/"),
        ]
    back = session.get("/api/ncrs/")

    for response in answers:
        assert_unavailable(response)
    assert back.status_code == 200
    [down, up] = log_lines.outages("database")
    assert down.startswith("database unavailable (OperationalError: ")
    assert up.startswith("database available again after ")
    assert log_lines.tracebacks == []
    assert log_lines.of("django.request") == []


@pytest.mark.django_db(transaction=True)
def test_an_uncached_api_key_while_the_database_is_down_gets_503_not_401(
    tmp_path, settings, log_lines
):
    settings.APIKEY_CACHE_TTL_SECONDS = 0
    client = APIClient(HTTP_X_API_KEY=keys.apikey_create(name="ERP", scopes=["*"]).key)

    with database_down(tmp_path):
        response = client.get("/api/equipment/")

    assert_unavailable(response)
    assert log_lines.tracebacks == []


@pytest.mark.django_db(transaction=True)
def test_the_admin_while_the_database_is_down_is_a_503_page(make_user, tmp_path, log_lines):
    browser = APIClient()
    browser.force_login(make_user("root", superuser=True))

    with database_down(tmp_path):
        pages = [browser.get("/admin/"), browser.get("/admin/quality/ncr/")]

    for page in pages:
        assert page.status_code == 503 and int(page["Retry-After"]) > 0
        assert page["Content-Type"].startswith("text/html")
        assert b"database is unavailable" in page.content
    assert len(log_lines.outages("database")) == 1
    assert log_lines.tracebacks == []


@pytest.mark.django_db(transaction=True)
def test_readyz_reports_the_database_down_and_logs_it_once_however_often_it_is_probed(
    client, tmp_path, log_lines
):
    with database_down(tmp_path):
        probes = [client.get("/readyz") for _ in range(3)]
    ready = client.get("/readyz")

    assert [p.status_code for p in probes] == [503] * 3
    assert all(p.json()["checks"]["database"]["ok"] is False for p in probes)
    assert ready.status_code == 200
    assert [line.split(" (")[0].split(" after")[0] for line in log_lines.outages("database")] == [
        "database unavailable",
        "database available again",
    ]


@pytest.mark.parametrize(
    ("exc", "service"),
    [
        (OperationalError("connection to server failed"), "database"),
        (BrokerError("Error 111 connecting to 127.0.0.1:6379"), "broker"),
        (RedisConnectionError("Error 111 connecting to 127.0.0.1:6379"), "cache"),
    ],
)
def test_the_api_error_handler_answers_503_for_each_backing_service(exc, service, log_lines):
    request = APIRequestFactory().get("/api/ncrs/")

    first = exception_handler(exc, {"view": None, "request": request})
    second = exception_handler(exc, {"view": None, "request": request})

    for response in (first, second):
        assert response.status_code == 503 and int(response["Retry-After"]) > 0
        assert response.data["code"] == "service_unavailable"
        assert service in response.data["message"]
        assert "6379" not in str(response.data)
    assert len(log_lines.outages(service)) == 1


def test_an_outage_met_by_a_middleware_is_a_503_from_the_django_handler_too():
    api = APIRequestFactory().get("/api/ncrs/")
    page = APIRequestFactory().get("/admin/")

    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        answers = api_aware_500(api), api_aware_500(page)

    assert [a.status_code for a in answers] == [503, 503]
    assert json.loads(answers[0].content)["code"] == "service_unavailable"
    assert answers[1]["Content-Type"].startswith("text/html")
    assert all(getattr(a, "_has_been_logged", False) for a in answers)  # no traceback line


def test_any_other_error_met_by_a_middleware_stays_a_500():
    request = APIRequestFactory().get("/api/ncrs/")

    try:
        raise RuntimeError("bug")
    except RuntimeError:
        response = api_aware_500(request)

    assert response.status_code == 500
    assert json.loads(response.content)["code"] == "server_error"
