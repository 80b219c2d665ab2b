"""CAPA endpoints: create linked to an NCR, update, close, bad input."""

from __future__ import annotations

import pytest
from django.utils import timezone

from quality import services
from quality.models import CAPA

pytestmark = pytest.mark.django_db


def test_a_capa_is_numbered_and_can_be_linked_to_an_ncr(admin_api):
    ncr = services.ncr_create(title="Crack")

    response = admin_api.post(
        "/api/capas/",
        {
            "title": "Change supplier",
            "capa_type": "preventive",
            "ncr": ncr.pk,
            "owner": "Q. Lead",
            "due_date": "2030-01-31",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["number"] == f"CAPA-{timezone.localdate().year}-0001"
    assert (data["ncr"], data["ncr_number"], data["due_date"]) == (ncr.pk, ncr.number, "2030-01-31")
    assert CAPA.objects.get(pk=data["id"]).ncr_id == ncr.pk


def test_capas_are_filterable_by_ncr_status_and_type(admin_api):
    ncr = services.ncr_create(title="Crack")
    linked = services.capa_create(title="A", ncr=ncr)
    services.capa_create(title="B", capa_type="preventive")

    by_ncr = admin_api.get(f"/api/capas/?ncr={ncr.pk}").json()["results"]
    by_type = admin_api.get("/api/capas/?capa_type=preventive").json()["results"]

    assert [r["id"] for r in by_ncr] == [linked.pk]
    assert [r["title"] for r in by_type] == ["B"]


def test_closing_a_capa_stamps_it_once(admin_api):
    capa = services.capa_create(title="A")

    first = admin_api.post(f"/api/capas/{capa.pk}/close/")
    second = admin_api.post(f"/api/capas/{capa.pk}/close")

    assert first.status_code == 200 and first.json()["closed_at"]
    assert second.status_code == 400 and "already closed" in second.json()["errors"]["status"][0]


def test_a_capa_moves_through_its_statuses_but_not_to_closed_by_update(admin_api):
    capa = services.capa_create(title="A")

    for status in ("in_progress", "verification"):
        response = admin_api.patch(f"/api/capas/{capa.pk}/", {"status": status}, format="json")
        assert response.status_code == 200
    refused = admin_api.patch(f"/api/capas/{capa.pk}/", {"status": "closed"}, format="json")

    assert refused.status_code == 400
    assert CAPA.objects.get(pk=capa.pk).status == "verification"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "A", "capa_type": "curative"}, "capa_type"),
        ({"title": "A", "ncr": 424242}, "ncr"),
        ({"title": "A", "due_date": "31/01/2030"}, "due_date"),
        ({"title": "A", "owner": "o" * 151}, "owner"),
        ({"title": "A", "status": "closed"}, "status"),
    ],
)
def test_bad_capa_input_gets_a_400_naming_the_field(admin_api, body, field):
    response = admin_api.post("/api/capas/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert CAPA.objects.count() == 0
