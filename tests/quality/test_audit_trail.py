"""Every change to an NCR, CAPA, equipment or supplier writes one audit event, whichever way
it came in (REST with an API key, the admin, a task), naming who, how and old -> new; closed
NCRs and CAPAs are read-only."""

from __future__ import annotations

import pytest
from celery import shared_task
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from apikeys import services as apikeys
from audit.models import AuditEvent
from quality import registry
from quality import services as quality
from quality.models import CAPA, NCR, Equipment, Supplier

pytestmark = pytest.mark.django_db


@pytest.fixture
def erp():
    """A REST client authenticated by an API key named ERP, and the key."""
    issued = apikeys.apikey_create(name="ERP", scopes=["*"])
    client = APIClient(REMOTE_ADDR="10.1.2.3")
    client.credentials(HTTP_X_API_KEY=issued.key)
    return client, issued.api_key


@pytest.fixture
def admin_browser(client):
    get_user_model().objects.create_superuser("boss", password="pw-12345678")
    client.login(username="boss", password="pw-12345678")
    return client


def events(object_type: str, obj) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(object_type=object_type, object_id=str(obj.pk)).order_by("id")
    )


def test_an_ncr_changed_through_rest_with_an_api_key_records_the_key_the_api_and_old_to_new(
    erp,
):
    client, key = erp
    created = client.post("/api/ncrs/", {"title": "Scratch", "severity": "minor"}, format="json")
    ncr = NCR.objects.get(pk=created.json()["id"])

    response = client.patch(f"/api/ncrs/{ncr.pk}/", {"severity": "major"}, format="json")

    assert response.status_code == 200
    create, update = events("ncr", ncr)
    assert (create.action, create.object_repr) == ("created", ncr.number)
    assert create.changes["title"] == [None, "Scratch"]
    assert create.changes["number"] == [None, ncr.number]
    assert (update.action, update.channel, update.actor_type) == ("updated", "api", "api_key")
    assert (update.actor_id, update.actor_name) == (str(key.pk), f"ERP ({key.key_id})")
    assert update.changes == {"severity": ["minor", "major"]}
    assert update.client_ip == "10.1.2.3" and update.request_id


def test_an_update_that_changes_nothing_records_nothing(erp):
    client, _ = erp
    ncr = quality.ncr_create(title="Scratch")

    client.patch(f"/api/ncrs/{ncr.pk}/", {"title": "Scratch"}, format="json")

    assert [e.action for e in events("ncr", ncr)] == ["created"]


def test_closing_an_ncr_through_rest_records_the_close_with_its_reason(erp):
    client, _ = erp
    ncr = quality.ncr_create(title="Scratch")

    response = client.post(f"/api/ncrs/{ncr.pk}/close/", {"reason": "Rework verified"})

    assert response.status_code == 200
    closed = events("ncr", ncr)[-1]
    assert (closed.action, closed.reason, closed.channel) == ("closed", "Rework verified", "api")
    assert closed.changes["status"] == ["open", "closed"]
    assert closed.changes["closed_at"][0] is None and closed.changes["closed_at"][1]


def test_a_close_without_a_reason_is_recorded_too(erp):
    client, _ = erp
    capa = quality.capa_create(title="Fix the press")

    assert client.post(f"/api/capas/{capa.pk}/close/").status_code == 200

    closed = events("capa", capa)[-1]
    assert (closed.action, closed.reason) == ("closed", "")


def test_a_supplier_changed_in_the_admin_records_the_user_the_admin_and_old_to_new(
    admin_browser,
):
    supplier = quality.supplier_create(number="S-1", name="Acme")
    boss = get_user_model().objects.get(username="boss")

    response = admin_browser.post(
        f"/admin/quality/supplier/{supplier.pk}/change/",
        {
            "number": "S-1",
            "name": "Acme Ltd",
            "contact_name": "",
            "email": "",
            "phone": "",
            "address": "",
            "status": "active",
            "approval_status": "approved",
        },
    )

    assert response.status_code == 302
    update = events("supplier", supplier)[-1]
    assert (update.action, update.channel, update.actor_type) == ("updated", "admin", "user")
    assert (update.actor_id, update.actor_name) == (str(boss.pk), "boss")
    assert update.changes == {
        "approval_status": ["pending", "approved"],
        "name": ["Acme", "Acme Ltd"],
    }


def test_closing_in_the_admin_records_the_reason_given_on_the_confirmation_page(admin_browser):
    ncr = quality.ncr_create(title="Porosity")

    admin_browser.post(f"/admin/quality/ncr/{ncr.pk}/close/", {"reason": "Scrapped"})

    closed = events("ncr", ncr)[-1]
    assert (closed.action, closed.channel, closed.actor_name) == ("closed", "admin", "boss")
    assert closed.reason == "Scrapped"


def test_the_admin_history_page_shows_the_trail_of_every_channel(admin_browser, erp):
    client, _ = erp
    equipment = quality.equipment_create(number="EQ-1", name="Caliper")
    client.patch(f"/api/equipment/{equipment.pk}/", {"location": "Bay 4"}, format="json")

    page = admin_browser.get(f"/admin/quality/equipment/{equipment.pk}/history/").content.decode()

    assert page.count('class="audit-event"') == 2
    assert "ERP (" in page and "Bay 4" in page


@shared_task(name="tests.quality.rename_equipment")
def rename_equipment(pk: int, name: str) -> None:
    quality.equipment_update(Equipment.objects.get(pk=pk), {"name": name})


def test_a_service_called_in_a_task_records_the_task_channel_and_its_task_id():
    equipment = quality.equipment_create(number="EQ-1", name="Caliper")

    result = rename_equipment.apply(args=(equipment.pk, "Caliper 2"))

    update = events("equipment", equipment)[-1]
    assert (update.channel, update.actor_type, update.request_id) == ("task", "system", result.id)
    assert update.changes == {"name": ["Caliper", "Caliper 2"]}


def test_bulk_writes_record_one_event_per_row_that_changed():
    from quality.services import bulk

    fields = registry.SUPPLIER_ENTITY.editable_fields
    old = quality.supplier_create(number="S-1", name="Acme")
    same = quality.supplier_create(number="S-3", name="Gamma")
    bulk.create_many(Supplier, fields, [{"number": "S-2", "name": "Beta"}])
    bulk.update_many(Supplier, fields, [(old, {"name": "Acme Ltd"}), (same, {"name": "Gamma"})])

    new = Supplier.objects.get(number="S-2")
    assert [(e.action, e.changes) for e in events("supplier", new)] == [
        (
            "created",
            {
                "name": [None, "Beta"],
                "number": [None, "S-2"],
                "status": [None, "active"],
                "approval_status": [None, "pending"],
            },
        ),
    ]
    assert [e.changes for e in events("supplier", old)][-1] == {"name": ["Acme", "Acme Ltd"]}
    assert len(events("supplier", old)) == 2
    assert len(events("supplier", same)) == 1  # created only: the update changed nothing


def test_a_refused_change_leaves_no_event():
    ncr = quality.ncr_create(title="Scratch")

    with pytest.raises(ValidationError):
        quality.ncr_update(ncr, {"title": ""})

    assert [e.action for e in events("ncr", ncr)] == ["created"]


def test_a_closed_ncr_is_read_only_through_rest_naming_the_record(erp):
    client, _ = erp
    ncr = quality.ncr_close(quality.ncr_create(title="Scratch"))

    response = client.patch(f"/api/ncrs/{ncr.pk}/", {"title": "Changed"}, format="json")

    assert response.status_code == 400
    assert ncr.number in str(response.json())
    assert NCR.objects.get(pk=ncr.pk).title == "Scratch"
    assert [e.action for e in events("ncr", ncr)] == ["created", "closed"]


def test_a_closed_capa_is_read_only_through_the_services():
    capa = quality.capa_close(quality.capa_create(title="Fix it"))

    with pytest.raises(ValidationError, match=capa.number):
        quality.capa_update(capa, {"owner": "someone"})
    assert CAPA.objects.get(pk=capa.pk).owner == ""


def test_a_closed_ncr_is_read_only_in_the_admin(admin_browser):
    ncr = quality.ncr_close(quality.ncr_create(title="Scratch"))
    url = f"/admin/quality/ncr/{ncr.pk}/change/"

    form = admin_browser.get(url).content.decode()
    response = admin_browser.post(
        url, {"title": "Changed", "severity": "major", "source": ""}, follow=True
    )

    assert 'name="title"' not in form
    assert f"{ncr.number} is closed" in response.content.decode()
    assert NCR.objects.get(pk=ncr.pk).title == "Scratch"


def test_a_capa_cannot_be_opened_against_a_closed_ncr(erp):
    client, _ = erp
    ncr = quality.ncr_close(quality.ncr_create(title="Scratch"))
    other = quality.capa_create(title="Elsewhere")

    created = client.post("/api/capas/", {"title": "Fix", "ncr": ncr.pk}, format="json")
    moved = client.patch(f"/api/capas/{other.pk}/", {"ncr": ncr.pk}, format="json")

    assert created.status_code == 400 and ncr.number in str(created.json()["errors"])
    assert moved.status_code == 400 and ncr.number in str(moved.json()["errors"])
    assert CAPA.objects.filter(ncr=ncr).count() == 0


def test_a_capa_against_a_closed_ncr_is_refused_in_the_admin_naming_it(admin_browser):
    ncr = quality.ncr_close(quality.ncr_create(title="Scratch"))

    response = admin_browser.post(
        "/admin/quality/capa/add/",
        {
            "title": "Fix",
            "description": "",
            "capa_type": "corrective",
            "status": "open",
            "ncr": ncr.pk,
            "owner": "",
            "due_date": "",
        },
        follow=True,
    )

    assert response.status_code == 200
    assert f"{ncr.number} is closed" in response.content.decode()
    assert CAPA.objects.count() == 0


def test_a_change_to_a_copy_read_before_a_concurrent_close_is_refused_naming_the_record():
    ncr = quality.ncr_create(title="Scratch")
    capa = quality.capa_create(title="Fix it")
    ncr_read_earlier, capa_read_earlier = NCR.objects.get(pk=ncr.pk), CAPA.objects.get(pk=capa.pk)
    quality.ncr_close(NCR.objects.get(pk=ncr.pk), reason="done elsewhere")
    quality.capa_close(CAPA.objects.get(pk=capa.pk))

    with pytest.raises(ValidationError, match=ncr.number):
        quality.ncr_update(ncr_read_earlier, {"title": "Changed", "status": "under_investigation"})
    with pytest.raises(ValidationError, match=capa.number):
        quality.capa_update(capa_read_earlier, {"owner": "someone"})
    with pytest.raises(ValidationError, match=ncr.number):
        quality.capa_create(title="Against it", ncr=ncr_read_earlier)

    assert NCR.objects.values_list("title", "status").get(pk=ncr.pk) == ("Scratch", "closed")
    assert CAPA.objects.get(pk=capa.pk).owner == ""
    assert not CAPA.objects.filter(ncr=ncr).exists()
    assert [e.action for e in events("ncr", ncr)] == ["created", "closed"]
