"""NCR endpoints: create, read, filter, update, close, and every kind of bad input."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from quality.models import NCR

pytestmark = pytest.mark.django_db

NUMBER = re.compile(r"^NCR-\d{4}-\d{4,}$")


def create_ncr(api, **overrides):
    body = {"title": "Scratched housing", "severity": "major", "source": "Line 3", **overrides}
    response = api.post("/api/ncrs/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_creating_an_ncr_numbers_it_for_the_current_year_and_stores_it(admin_api):
    data = create_ncr(admin_api, description="Found at final inspection")

    year = timezone.localdate().year
    assert data["number"] == f"NCR-{year}-0001"
    assert data["status"] == "open"
    assert data["closed_at"] is None
    stored = NCR.objects.get(pk=data["id"])
    assert (stored.title, stored.severity, stored.source) == (
        "Scratched housing",
        "major",
        "Line 3",
    )


def test_numbers_increase_one_by_one(admin_api):
    numbers = [create_ncr(admin_api)["number"] for _ in range(3)]

    assert [int(n.rsplit("-", 1)[1]) for n in numbers] == [1, 2, 3]
    assert all(NUMBER.match(n) for n in numbers)


def test_a_client_cannot_choose_the_number(admin_api):
    data = create_ncr(admin_api, number="NCR-1999-9999")

    assert data["number"] != "NCR-1999-9999"


def test_the_list_is_paginated_and_filterable_by_status_severity_and_number(admin_api):
    first = create_ncr(admin_api, severity="critical")
    create_ncr(admin_api, severity="minor")
    admin_api.post(f"/api/ncrs/{first['id']}/close/")

    page = admin_api.get("/api/ncrs/?page_size=1").json()
    assert page["count"] == 2 and len(page["results"]) == 1 and page["next"]

    closed = admin_api.get("/api/ncrs/?status=closed").json()
    assert [r["id"] for r in closed["results"]] == [first["id"]]
    critical = admin_api.get("/api/ncrs/?severity=critical").json()
    assert [r["id"] for r in critical["results"]] == [first["id"]]
    by_number = admin_api.get(f"/api/ncrs/?number={first['number']}").json()
    assert [r["id"] for r in by_number["results"]] == [first["id"]]


def test_search_finds_ncrs_by_words_of_the_title(admin_api):
    create_ncr(admin_api, title="Burr on flange")
    create_ncr(admin_api, title="Wrong label")

    found = admin_api.get("/api/ncrs/?search=flange").json()["results"]

    assert [r["title"] for r in found] == ["Burr on flange"]


def test_paths_work_with_and_without_the_trailing_slash(admin_api):
    ncr = create_ncr(admin_api)

    assert admin_api.get("/api/ncrs").status_code == 200
    assert admin_api.get(f"/api/ncrs/{ncr['id']}").status_code == 200
    assert (
        admin_api.patch(f"/api/ncrs/{ncr['id']}", {"title": "T"}, format="json").status_code == 200
    )
    assert admin_api.post(f"/api/ncrs/{ncr['id']}/close").status_code == 200


def test_put_replaces_and_patch_changes_only_the_given_fields(admin_api):
    ncr = create_ncr(admin_api)

    put = admin_api.put(
        f"/api/ncrs/{ncr['id']}/",
        {"title": "New title", "severity": "minor", "status": "under_investigation"},
        format="json",
    )
    assert put.status_code == 200
    patch = admin_api.patch(f"/api/ncrs/{ncr['id']}/", {"source": "Supplier X"}, format="json")
    assert patch.status_code == 200

    stored = NCR.objects.get(pk=ncr["id"])
    assert (stored.title, stored.severity, stored.status, stored.source) == (
        "New title",
        "minor",
        "under_investigation",
        "Supplier X",
    )


def test_an_update_that_changes_nothing_does_not_touch_the_row(admin_api):
    ncr = create_ncr(admin_api)
    before = NCR.objects.get(pk=ncr["id"]).updated_at

    response = admin_api.patch(f"/api/ncrs/{ncr['id']}/", {"title": ncr["title"]}, format="json")

    assert response.status_code == 200
    assert NCR.objects.get(pk=ncr["id"]).updated_at == before


def test_closing_sets_closed_at_and_a_second_close_is_refused(admin_api):
    ncr = create_ncr(admin_api)

    closed = admin_api.post(f"/api/ncrs/{ncr['id']}/close/")
    again = admin_api.post(f"/api/ncrs/{ncr['id']}/close/")

    assert closed.status_code == 200
    assert closed.json()["status"] == "closed" and closed.json()["closed_at"]
    assert again.status_code == 400
    assert again.json()["code"] == "validation_error"
    assert "already closed" in again.json()["errors"]["status"][0]
    stored = NCR.objects.get(pk=ncr["id"])
    assert stored.status == "closed" and stored.closed_at is not None


def test_closed_can_only_be_reached_through_the_close_action(admin_api):
    ncr = create_ncr(admin_api)

    by_patch = admin_api.patch(f"/api/ncrs/{ncr['id']}/", {"status": "closed"}, format="json")
    by_create = admin_api.post("/api/ncrs/", {"title": "X", "status": "closed"}, format="json")

    assert by_patch.status_code == 400
    assert by_patch.json()["errors"]["status"] == ["Close the NCR with the close action."]
    assert by_create.status_code == 400
    assert NCR.objects.get(pk=ncr["id"]).status == "open"
    assert NCR.objects.count() == 1


def test_a_closed_ncr_cannot_be_reopened(admin_api):
    ncr = create_ncr(admin_api)
    admin_api.post(f"/api/ncrs/{ncr['id']}/close/")

    response = admin_api.patch(f"/api/ncrs/{ncr['id']}/", {"status": "open"}, format="json")

    assert response.status_code == 400
    assert NCR.objects.get(pk=ncr["id"]).status == "closed"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "X", "severity": "huge"}, "severity"),
        ({"title": "X", "status": "done"}, "status"),
        ({"title": "x" * 256}, "title"),
        ({"title": ""}, "title"),
        ({}, "title"),
        ({"title": "X", "detected_at": "yesterday"}, "detected_at"),
        ({"title": "X", "source": "s" * 101}, "source"),
        ({"title": "nul\x00byte"}, "title"),
    ],
)
def test_bad_fields_get_a_400_naming_the_field_and_nothing_is_stored(admin_api, body, field):
    response = admin_api.post("/api/ncrs/", body, format="json")

    assert response.status_code == 400
    payload = response.json()
    assert payload["code"] == "validation_error"
    assert field in payload["errors"]
    assert payload["message"]
    assert NCR.objects.count() == 0


def test_invalid_json_gets_a_400_in_the_standard_error_body(admin_api):
    response = admin_api.generic(
        "POST", "/api/ncrs/", '{"title": "oops",', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert set(response.json()) == {"code", "message", "errors"}


def test_an_unknown_ncr_is_a_404_in_the_standard_error_body(admin_api):
    response = admin_api.get("/api/ncrs/999999/")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Not found.", "errors": {}}


def test_invalid_filter_values_get_a_400(admin_api):
    response = admin_api.get("/api/ncrs/?severity=huge")

    assert response.status_code == 400
    assert "severity" in response.json()["errors"]


def test_delete_is_not_offered(admin_api):
    ncr = create_ncr(admin_api)

    response = admin_api.delete(f"/api/ncrs/{ncr['id']}/")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert NCR.objects.filter(pk=ncr["id"]).exists()
