"""Every API error has the same body: {"code", "message", "errors"}."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from rest_framework.test import APIRequestFactory

from eqms_integration.api.exceptions import exception_handler

pytestmark = pytest.mark.django_db


def handle(exc):
    request = APIRequestFactory().get("/api/x/")
    return exception_handler(exc, {"view": None, "request": request})


def test_unknown_api_paths_answer_404_in_json(client):
    response = client.get("/api/no-such-thing/")

    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "message": "No API endpoint at this path.",
        "errors": {},
    }


def test_unknown_api_paths_answer_json_with_debug_on_too(client, settings):
    settings.DEBUG = True

    response = client.get("/api/no-such-thing/deeper")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_write_to_an_unknown_api_path_is_a_json_404_not_the_csrf_page(method, admin_user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    response = getattr(client, method)("/api/ncrs/0.5/", {}, content_type="application/json")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_request_for_a_host_not_allowed_gets_a_json_400_on_api_paths(client):
    api = client.get("/api/ncrs/", HTTP_HOST="evil.example")
    page = client.get("/admin/", HTTP_HOST="evil.example")

    assert (api.status_code, api.json()["code"]) == (400, "bad_request")
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")


def test_a_django_level_permission_denial_on_an_api_path_is_json():
    from django.core.exceptions import PermissionDenied

    from eqms_integration.api.errors import api_aware_403

    request = APIRequestFactory().get("/api/ncrs/")
    response = api_aware_403(request, PermissionDenied())

    assert response.status_code == 403
    assert json.loads(response.content)["code"] == "permission_denied"


def test_unknown_non_api_paths_keep_the_html_404(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_service_validation_errors_become_400_with_field_errors():
    response = handle(ValidationError({"status": ["Already closed."], "__all__": ["Bad."]}))

    assert response.status_code == 400
    assert response.data == {
        "code": "validation_error",
        "message": "The request has invalid fields.",
        "errors": {"status": ["Already closed."], "non_field_errors": ["Bad."]},
    }


def test_a_lost_uniqueness_race_is_a_409_not_a_500():
    response = handle(IntegrityError("duplicate key value violates unique constraint"))

    assert response.status_code == 409
    assert response.data["code"] == "conflict"
    assert "duplicate key" not in response.data["message"]


def test_an_unexpected_error_is_a_500_in_the_standard_body_without_details():
    response = handle(RuntimeError("database password is hunter2"))

    assert response.status_code == 500
    assert response.data["code"] == "server_error"
    assert "hunter2" not in str(response.data)


def test_anonymous_requests_are_refused_with_401_and_a_challenge(client):
    response = client.get("/api/ncrs/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["code"] == "not_authenticated"


def test_the_openapi_schema_and_swagger_ui_are_served_without_internet(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/ncrs/{id}/close/", "/api/capas/{id}/close/", "/api/equipment/"} <= set(paths)
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html


def test_the_home_page_links_to_the_admin_the_docs_and_the_probes(client):
    html = client.get("/").content.decode()

    for link in ('href="/admin/"', 'href="/api/docs', 'href="/healthz"', 'href="/readyz"'):
        assert link in html


def every_value_is_a_list(errors: dict) -> bool:
    """The `errors` rule: each value a list of messages or of nested error objects."""
    for value in errors.values():
        if not isinstance(value, list):
            return False
        for item in value:
            if isinstance(item, dict):
                if not every_value_is_a_list(item):
                    return False
            elif not isinstance(item, str):
                return False
    return True


def test_errors_raised_with_a_bare_message_per_field_are_lists():
    from rest_framework.exceptions import ValidationError as DRFValidationError

    response = handle(DRFValidationError({"until": "Must be after since.", "x": {"y": "z"}}))

    assert response.data["errors"] == {"until": ["Must be after since."], "x": [{"y": ["z"]}]}


def test_a_bare_list_of_messages_lands_under_non_field_errors():
    from rest_framework.exceptions import ValidationError as DRFValidationError

    response = handle(DRFValidationError(["one", ["two"]]))

    assert response.data["errors"] == {"non_field_errors": ["one", "two"]}


def test_an_action_that_names_a_field_with_a_bare_message_answers_a_list(client_for):
    from sync.models import Connection

    connection = Connection.objects.create(name="ERP", kind="sqlite", database="/nowhere.db")
    api = client_for("superuser")

    response = api.get(f"/api/sync/connections/{connection.pk}/describe/")

    assert response.status_code == 400
    assert response.json()["errors"] == {"object": ["Give ?object=[schema.]table."]}


def test_errors_of_items_of_a_list_field_are_nested_objects_in_a_list(client_for):
    api = client_for("superuser")

    response = api.post(
        "/api/api-keys/", {"name": "ERP", "scopes": ["ncr:read", "ncr:fly"]}, format="json"
    )

    errors = response.json()["errors"]
    assert response.status_code == 400
    assert errors == {"scopes": [{"1": ['"ncr:fly" is not a valid choice.']}]}
    assert every_value_is_a_list(errors)


def test_errors_of_the_entries_of_an_object_field_are_a_nested_object_in_a_list(client_for):
    api = client_for("superuser")
    body = {
        "name": "x",
        "url": "http://127.0.0.1:9/",
        "events": ["ncr.created"],
        "custom_headers": {"X-Plant": "7", "X-Line": ["not", "a", "string"]},
    }

    response = api.post("/api/webhooks/", body, format="json")

    errors = response.json()["errors"]
    assert response.status_code == 400
    assert errors == {"custom_headers": [{"X-Line": ["Not a valid string."]}]}
    assert every_value_is_a_list(errors)
