"""Input that once answered 500 (or was silently ignored) answers a 4xx in the error shape,
naming what was wrong: deep or unstorable JSON, oversized bodies, date filters out of range,
NUL characters in query parameters, bad page numbers, sizes and orderings. These run on
SQLite and, with DATABASE_URL, on PostgreSQL (where offsets beyond ±15:59 and NUL used to fail
inside the database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone

from quality import services
from quality.models import CAPA, NCR, Equipment, Supplier

pytestmark = pytest.mark.django_db

NCR_BODY = b'{"title": "Burr", "severity": "minor", "description": %s}'


def post_raw(api, path: str, body: bytes, content_type: str = "application/json"):
    return api.generic("POST", path, body, content_type=content_type)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "errors"}
    assert body["code"] == code
    return body


@pytest.mark.parametrize("depth", [100, 1_000, 100_000])
def test_json_nested_too_deep_is_a_parse_error_and_creates_nothing(admin_api, depth):
    nested = b"[" * depth + b"]" * depth

    response = post_raw(admin_api, "/api/ncrs/", NCR_BODY % nested)

    body = assert_error(response, 400, "parse_error")
    assert "nested deeper than 64 levels" in body["message"]
    assert not NCR.objects.exists()


def test_json_nested_64_levels_passes_the_parser_and_meets_the_serializer(admin_api):
    nested = b"[" * 63 + b"]" * 63  # 64 levels with the body object itself

    response = post_raw(admin_api, "/api/ncrs/", NCR_BODY % nested)

    body = assert_error(response, 400, "validation_error")
    assert list(body["errors"]) == ["description"]  # a string is wanted there


def test_a_body_over_the_upload_limit_is_a_413_in_the_error_shape(admin_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000

    response = post_raw(admin_api, "/api/ncrs/", NCR_BODY % (b'"' + b"x" * 20_000 + b'"'))

    body = assert_error(response, 413, "request_too_large")
    assert body["message"] == "The request body is larger than the 10,000 bytes accepted."
    assert not NCR.objects.exists()


def test_a_body_too_large_read_outside_a_view_is_a_413_on_api_paths_too():
    from django.core.exceptions import RequestDataTooBig
    from rest_framework.test import APIRequestFactory

    from eqms_integration.api.errors import api_aware_400

    request = APIRequestFactory().post("/api/ncrs/")
    response = api_aware_400(request, RequestDataTooBig("too big"))

    assert response.status_code == 413
    assert b'"request_too_large"' in response.content


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b'"a\\u0000b"', "$.description"),
        (b'"a\\ud800b"', "$.description"),
    ],
)
def test_strings_no_database_can_store_are_refused_naming_the_field(admin_api, raw, where):
    response = post_raw(admin_api, "/api/ncrs/", NCR_BODY % raw)

    body = assert_error(response, 400, "validation_error")
    assert list(body["errors"]) == ["description"]
    assert f"(at {where})" in body["errors"]["description"][0]
    assert not NCR.objects.exists()


def test_a_number_too_large_to_be_finite_is_refused_naming_the_field(admin_api):
    body = b'{"resolution": "custom_value", "resolved_value": {"name": 1e400}}'

    response = post_raw(admin_api, "/api/sync/conflicts/1/resolve/", body)

    errors = assert_error(response, 400, "validation_error")["errors"]
    assert errors == {
        "resolved_value": [
            "Numbers must be finite; this one is too large (at $.resolved_value.name)."
        ]
    }


def test_a_nul_in_a_key_deep_in_a_json_field_is_refused(admin_api):
    body = (
        b'{"name": "x", "kind": "rest", "base_url": "http://127.0.0.1:9/",'
        b' "options": {"pagination": {"ty\\u0000pe": "page"}}}'
    )

    response = post_raw(admin_api, "/api/sync/connections/", body)

    errors = assert_error(response, 400, "validation_error")["errors"]
    assert list(errors) == ["options"]
    assert "(at a key of $.options.pagination)" in errors["options"][0]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"title": "\xff\xfe", "severity": "minor"}', "application/json"),
        (b'{"title": "x", ', "application/json"),
        (b'{"title": NaN, "severity": "minor"}', "application/json"),
    ],
    ids=["invalid-utf8", "truncated", "nan"],
)
def test_bodies_that_are_not_valid_json_are_a_parse_error(admin_api, body, content_type):
    response = post_raw(admin_api, "/api/ncrs/", body, content_type)

    assert_error(response, 400, "parse_error")
    assert not NCR.objects.exists()


def make_one_of_each() -> None:
    ncr = services.ncr_create(title="Burr", severity="minor")
    services.capa_create(title="Deburr", capa_type="corrective", ncr=ncr)
    services.equipment_create(number="EQ-1", name="Caliper")
    services.supplier_create(number="SUP-1", name="Acme")


ENTITIES = [("ncrs", NCR), ("capas", CAPA), ("equipment", Equipment), ("suppliers", Supplier)]
TIMESTAMP_FILTERS = ["created_after", "created_before", "updated_after", "updated_before"]


@pytest.mark.parametrize("path", [path for path, _ in ENTITIES])
@pytest.mark.parametrize("name", TIMESTAMP_FILTERS)
def test_every_timestamp_filter_takes_any_offset_python_reads(admin_api, path, name):
    make_one_of_each()
    # 16 hours ahead of UTC: PostgreSQL refuses the offset itself, so it is converted first.
    an_hour_ago = (timezone.now() - timedelta(hours=1)).astimezone(UTC).replace(tzinfo=None)
    local = (an_hour_ago + timedelta(hours=16)).isoformat() + "+16:00"

    response = admin_api.get(f"/api/{path}/?{name}={quote(local)}")

    assert response.status_code == 200, response.json()
    expected = 1 if name.endswith("_after") else 0  # the row was made after that instant
    assert response.json()["count"] == expected


@pytest.mark.parametrize("path", [path for path, _ in ENTITIES])
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("created_after", "0001-01-01T00:00:00+10:00"),
        ("updated_before", "9999-12-31T23:00-10:00"),
        ("updated_after", "2026-13-01T00:00:00Z"),
        ("created_before", "yesterday"),
    ],
)
def test_a_timestamp_filter_out_of_range_or_unreadable_is_a_400_naming_it(
    admin_api, path, name, value
):
    response = admin_api.get(f"/api/{path}/?{name}={quote(value)}")

    body = assert_error(response, 400, "validation_error")
    assert list(body["errors"]) == [name]
    assert isinstance(body["errors"][name], list)


@pytest.mark.parametrize(
    "url",
    [
        "/api/ncrs/?search=a%00b",
        "/api/capas/?owner=%00",
        "/api/webhooks/deliveries/?event__event_type=ncr%00",
        "/api/sync/conflicts/?external_id=x%00",
        "/api/records/?external_id=%00",
        "/api/api-key-events/?key_id=%00",
        "/api/ncrs/?a%00b=1",
    ],
)
def test_a_nul_in_any_query_parameter_is_a_400_naming_the_parameter(client_for, url):
    api = client_for("superuser")

    response = api.get(url)

    body = assert_error(response, 400, "validation_error")
    (name,) = body["errors"]
    assert name == url.split("?")[1].split("=")[0].replace("%00", "\x00")


@pytest.mark.parametrize(
    ("query", "name"),
    [("search=%FF%FE", "search"), ("owner=caf%E9", "owner"), ("%C3%28=1", "\ufffd(")],
)
def test_a_query_parameter_that_is_not_utf8_is_a_400_naming_it(client_for, query, name):
    api = client_for("superuser")

    response = api.get(f"/api/capas/?{query}")

    body = assert_error(response, 400, "validation_error")
    assert body["errors"] == {name: ["Not valid UTF-8 once percent-decoded."]}


def test_query_parameters_in_utf8_with_plus_signs_and_escapes_pass(client_for):
    services.ncr_create(title="Café crème", severity="minor")
    api = client_for("superuser")

    response = api.get("/api/ncrs/?search=caf%C3%A9+cr%C3%A8me&ordering=-created_at")

    assert response.status_code == 200 and response.json()["count"] == 1


def test_a_nul_in_the_status_of_a_configurations_runs_is_refused(client_for):
    api = client_for("superuser")

    response = api.get("/api/sync/configurations/1/logs/?status=%00")

    assert assert_error(response, 400, "validation_error")["errors"] == {
        "status": ["NUL characters (U+0000) are not accepted in query parameters."]
    }


def test_more_query_parameters_than_django_reads_is_a_json_400(admin_api):
    many = "&".join(f"p{n}=1" for n in range(1_100))

    response = admin_api.get(f"/api/ncrs/?{many}")

    assert_error(response, 400, "bad_request")


@pytest.mark.parametrize("value", ["-1", "0", "abc", "1.5", "9" * 5000])
@pytest.mark.parametrize("name", ["page", "page_size"])
def test_a_page_or_page_size_that_is_not_a_whole_number_from_1_is_a_400(admin_api, name, value):
    response = admin_api.get(f"/api/ncrs/?{name}={value}")

    body = assert_error(response, 400, "validation_error")
    assert list(body["errors"]) == [name]


def test_a_page_past_the_last_is_a_404_and_last_is_the_last_page(admin_api):
    make_one_of_each()

    past = admin_api.get("/api/ncrs/?page=" + "9" * 30)
    last = admin_api.get("/api/ncrs/?page=last")

    assert assert_error(past, 404, "not_found")["message"].startswith("There is no page 999")
    assert last.status_code == 200 and last.json()["count"] == 1


def test_a_page_size_above_500_is_answered_with_500_rows(admin_api):
    for n in range(3):
        services.supplier_create(number=f"SUP-{n}", name="Acme")

    response = admin_api.get("/api/suppliers/?page_size=100000")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 3 and response.json()["next"] is None


@pytest.mark.parametrize("ordering", ["nope", "--number", "number,,title", "number;drop", "%00"])
def test_an_ordering_by_an_unknown_field_is_a_400_listing_the_allowed_ones(admin_api, ordering):
    response = admin_api.get(f"/api/ncrs/?ordering={ordering}")

    body = assert_error(response, 400, "validation_error")
    (name,) = body["errors"]
    assert name == "ordering"
    if ordering != "%00":
        assert "Order by created_at, updated_at, number, severity" in body["errors"][name][0]


def test_orderings_by_allowed_fields_either_way_work(admin_api):
    for n in (2, 1, 3):
        services.supplier_create(number=f"SUP-{n}", name=f"Acme {n}")

    up = admin_api.get("/api/suppliers/?ordering=number").json()["results"]
    down = admin_api.get("/api/suppliers/?ordering=-name,number").json()["results"]

    assert [row["number"] for row in up] == ["SUP-1", "SUP-2", "SUP-3"]
    assert [row["number"] for row in down] == ["SUP-3", "SUP-2", "SUP-1"]


def test_a_recover_window_out_of_range_once_in_utc_is_a_400_naming_the_field(admin_api, settings):
    from webhooks.services import subscription_create

    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    sub, _ = subscription_create(name="x", url="http://127.0.0.1:9/", events=["ncr.created"])
    body = {"since": "0001-01-01T00:00:00+10:00", "until": datetime(2026, 1, 1).isoformat()}

    response = admin_api.post(f"/api/webhooks/{sub.pk}/recover/", body, format="json")

    assert list(assert_error(response, 400, "validation_error")["errors"]) == ["since"]


def test_date_time_filters_generated_from_filterset_fields_convert_to_utc_too():
    from types import SimpleNamespace

    from eqms_integration.api.filters import FilterBackend, UTCIsoDateTimeFilter
    from webhooks.models import WebhookDelivery

    view = SimpleNamespace(filterset_fields=("created_at",))
    queryset = WebhookDelivery.objects.all()
    filterset_class = FilterBackend().get_filterset_class(view, queryset)

    ahead = filterset_class({"created_at": "2026-01-01T08:00:00+16:00"}, queryset=queryset)
    beyond = filterset_class({"created_at": "0001-01-01T00:00:00+10:00"}, queryset=queryset)

    assert isinstance(filterset_class.base_filters["created_at"], UTCIsoDateTimeFilter)
    assert ahead.is_valid() and ahead.form.cleaned_data["created_at"] == datetime(
        2025, 12, 31, 16, 0, tzinfo=UTC
    )
    assert list(ahead.qs) == []
    assert not beyond.is_valid() and "created_at" in beyond.errors
