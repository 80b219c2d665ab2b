"""Admin screens for NCR/CAPA/equipment/suppliers go through the services."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from quality import services
from quality.models import NCR, Equipment

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged_in(client):
    get_user_model().objects.create_superuser("boss", password="pw-12345678")
    client.login(username="boss", password="pw-12345678")
    return client


def test_adding_an_ncr_in_the_admin_numbers_it(admin_client_logged_in):
    response = admin_client_logged_in.post(
        "/admin/quality/ncr/add/",
        {
            "title": "From admin",
            "description": "",
            "severity": "major",
            "status": "open",
            "source": "",
            "detected_at_0": "",
            "detected_at_1": "",
        },
    )

    assert response.status_code == 302, response.content[:2000]
    ncr = NCR.objects.get()
    assert ncr.number == f"NCR-{timezone.localdate().year}-0001"
    assert ncr.severity == "major"


def test_the_admin_form_cannot_set_closed_and_the_close_action_closes(admin_client_logged_in):
    ncr = services.ncr_create(title="A")
    form = admin_client_logged_in.get(f"/admin/quality/ncr/{ncr.pk}/change/").content.decode()
    assert 'value="closed"' not in form

    response = admin_client_logged_in.post(
        "/admin/quality/ncr/",
        {"action": "close_selected", "_selected_action": [ncr.pk]},
        follow=True,
    )

    assert "Closed 1 NCR." in response.content.decode()
    ncr.refresh_from_db()
    assert ncr.status == "closed" and ncr.closed_at is not None


def test_closing_an_already_closed_ncr_in_the_admin_warns_instead_of_failing(
    admin_client_logged_in,
):
    ncr = services.ncr_close(ncr=services.ncr_create(title="A"))

    response = admin_client_logged_in.post(
        "/admin/quality/ncr/",
        {"action": "close_selected", "_selected_action": [ncr.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "already closed" in response.content.decode()


def test_admin_lists_search_and_filter(admin_client_logged_in):
    services.equipment_create(number="EQ-1", name="Caliper")
    services.equipment_create(number="EQ-2", name="Scale", status="retired")

    found = admin_client_logged_in.get("/admin/quality/equipment/?q=Caliper").content.decode()
    retired = admin_client_logged_in.get("/admin/quality/equipment/?status__exact=retired")

    assert "EQ-1" in found and "EQ-2" not in found
    assert "EQ-2" in retired.content.decode() and "EQ-1" not in retired.content.decode()


def test_editing_equipment_in_the_admin_saves_through_the_service(admin_client_logged_in):
    eq = services.equipment_create(number="EQ-1", name="Caliper")

    response = admin_client_logged_in.post(
        f"/admin/quality/equipment/{eq.pk}/change/",
        {
            "number": "EQ-1",
            "name": "Digital caliper",
            "category": "",
            "location": "Lab",
            "manufacturer": "",
            "model": "",
            "serial_number": "",
            "status": "active",
            "calibration_due_date": "",
        },
    )

    assert response.status_code == 302
    assert Equipment.objects.get(pk=eq.pk).name == "Digital caliper"


def test_records_cannot_be_deleted_from_the_admin(admin_client_logged_in):
    ncr = services.ncr_create(title="A")

    response = admin_client_logged_in.get(f"/admin/quality/ncr/{ncr.pk}/delete/")

    assert response.status_code == 403


def test_the_close_button_confirms_then_closes_through_the_service(admin_client_logged_in):
    ncr = services.ncr_create(title="Porosity")
    url = f"/admin/quality/ncr/{ncr.pk}/close/"

    change = admin_client_logged_in.get(f"/admin/quality/ncr/{ncr.pk}/change/").content.decode()
    confirm = admin_client_logged_in.get(url).content.decode()
    assert NCR.objects.get(pk=ncr.pk).status == "open"  # a GET changes nothing
    response = admin_client_logged_in.post(url, follow=True)

    assert f'href="{url}"' in change
    assert f"Close {ncr.number} Porosity?" in confirm and "cannot be reopened" in confirm
    assert f"Closed {ncr.number}." in response.content.decode()
    ncr.refresh_from_db()
    assert ncr.status == "closed" and ncr.closed_at is not None
    closed_page = admin_client_logged_in.get(f"/admin/quality/ncr/{ncr.pk}/change/")
    assert f'href="{url}"' not in closed_page.content.decode()
    assert "already closed" in admin_client_logged_in.get(url).content.decode()


def test_a_capa_is_closed_with_its_button_and_a_reader_gets_403(admin_client_logged_in, client):
    from django.contrib.auth.models import Group

    capa = services.capa_create(title="Fix the mould")
    auditor = get_user_model().objects.create_user("auditor", password="pw-12345678", is_staff=True)
    auditor.groups.add(Group.objects.get(name="Auditor"))
    reader = type(client)()
    reader.login(username="auditor", password="pw-12345678")

    refused = reader.post(f"/admin/quality/capa/{capa.pk}/close/")
    closed = admin_client_logged_in.post(f"/admin/quality/capa/{capa.pk}/close/")

    assert refused.status_code == 403
    assert closed.status_code == 302
    capa.refresh_from_db()
    assert capa.status == "closed"


def test_capa_labels_read_capa_type_and_ncr(admin_client_logged_in):
    page = admin_client_logged_in.get("/admin/quality/capa/add/").content.decode()
    listing = admin_client_logged_in.get("/admin/quality/capa/").content.decode()

    assert '<label class="required" for="id_capa_type">CAPA type:</label>' in page
    assert '<label for="id_ncr">NCR:</label>' in page
    assert "By CAPA type" in listing and "Capa type" not in listing and "Ncr" not in page


def test_closing_several_capas_says_how_many_in_the_plural(admin_client_logged_in):
    ids = [services.capa_create(title=f"C{n}").pk for n in range(2)]

    response = admin_client_logged_in.post(
        "/admin/quality/capa/", {"action": "close_selected", "_selected_action": ids}, follow=True
    )

    assert "Closed 2 CAPAs." in response.content.decode()
