"""Equipment and supplier endpoints: the master data ERP systems own."""

from __future__ import annotations

import pytest

from quality.models import Equipment, Supplier

pytestmark = pytest.mark.django_db


def test_equipment_is_created_and_found_by_its_number(admin_api):
    created = admin_api.post(
        "/api/equipment/",
        {
            "number": "EQ-100",
            "name": "Caliper",
            "category": "Gauge",
            "serial_number": "SN1",
            "calibration_due_date": "2027-03-01",
        },
        format="json",
    )
    admin_api.post("/api/equipment/", {"number": "EQ-200", "name": "Scale"}, format="json")

    assert created.status_code == 201, created.json()
    found = admin_api.get("/api/equipment/?number=EQ-100").json()["results"]
    assert [(e["number"], e["name"], e["status"]) for e in found] == [
        ("EQ-100", "Caliper", "active")
    ]


def test_equipment_numbers_are_unique(admin_api):
    admin_api.post("/api/equipment/", {"number": "EQ-1", "name": "A"}, format="json")

    duplicate = admin_api.post("/api/equipment/", {"number": "EQ-1", "name": "B"}, format="json")

    assert duplicate.status_code == 400
    assert "number" in duplicate.json()["errors"]
    assert Equipment.objects.get(number="EQ-1").name == "A"


def test_equipment_can_be_updated_and_partially_updated(admin_api):
    eq = admin_api.post("/api/equipment/", {"number": "EQ-1", "name": "A"}, format="json").json()

    put = admin_api.put(
        f"/api/equipment/{eq['id']}/",
        {"number": "EQ-1", "name": "B", "status": "maintenance"},
        format="json",
    )
    patch = admin_api.patch(f"/api/equipment/{eq['id']}", {"location": "Lab 2"}, format="json")

    assert put.status_code == 200 and patch.status_code == 200
    stored = Equipment.objects.get(pk=eq["id"])
    assert (stored.name, stored.status, stored.location) == ("B", "maintenance", "Lab 2")


def test_suppliers_are_created_filtered_by_number_and_updated(admin_api):
    created = admin_api.post(
        "/api/suppliers/",
        {
            "number": "S-1",
            "name": "Acme",
            "email": "qa@acme.example",
            "approval_status": "approved",
        },
        format="json",
    )
    admin_api.post("/api/suppliers/", {"number": "S-2", "name": "Other"}, format="json")
    sid = created.json()["id"]
    admin_api.patch(f"/api/suppliers/{sid}/", {"status": "blocked"}, format="json")

    found = admin_api.get("/api/suppliers?number=S-1").json()["results"]

    assert created.status_code == 201
    assert [(s["number"], s["status"], s["approval_status"]) for s in found] == [
        ("S-1", "blocked", "approved")
    ]


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/suppliers/", {"number": "S-1", "name": "A", "email": "not-an-email"}, "email"),
        (
            "/api/suppliers/",
            {"number": "S-1", "name": "A", "approval_status": "maybe"},
            "approval_status",
        ),
        ("/api/suppliers/", {"name": "A"}, "number"),
        ("/api/equipment/", {"number": "E" * 65, "name": "A"}, "number"),
        ("/api/equipment/", {"number": "E1", "name": "A", "status": "broken"}, "status"),
        (
            "/api/equipment/",
            {"number": "E1", "name": "A", "calibration_due_date": "2027-13-01"},
            "calibration_due_date",
        ),
    ],
)
def test_bad_master_data_gets_a_400_naming_the_field(admin_api, url, body, field):
    response = admin_api.post(url, body, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert Equipment.objects.count() == Supplier.objects.count() == 0
