"""The audit trail in the admin: the filtered list, an event's detail with its seal, CSV
export of the filtered list or a selection, and the History page of any object."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import Permission

from audit import actors, services
from audit.context import audit_context
from audit.models import AuditEvent, AuditSeal
from quality import services as quality
from quality.models import NCR

pytestmark = pytest.mark.django_db
BASE = "/admin/audit/auditevent/"


@pytest.fixture
def staff(client, make_user):
    """Logs the client in as a staff user with the given role."""

    def login(role: str = "Auditor", username: str = "auditor"):
        user = make_user(username, role=role or None)
        user.is_staff = True
        user.save()
        client.force_login(user)
        return user

    return login


@pytest.fixture
def events(make_user) -> dict[str, AuditEvent]:
    alice = make_user("alice")
    with audit_context(actor=actors.user(alice), channel="admin"):
        ncr = services.event_record(
            action="updated",
            object_type="ncr",
            object_id=1,
            object_repr="NCR-2026-0001",
            changes={"severity": ["minor", "major"]},
            reason="Customer complaint",
        )
    with audit_context(actor=actors.system("nightly"), channel="task"):
        key = services.event_record(
            action="revoked",
            object_type="api_key",
            object_id=2,
            object_repr="ERP",
            reason="leaked",
        )
    services.events_seal()
    return {"ncr": ncr, "key": key}


def csv_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_list_filters_by_object_type_channel_and_object_id(client, staff, events):
    staff()

    by_type = client.get(BASE, {"object_type": "api_key"}).content.decode()
    by_object = client.get(BASE, {"object_type": "ncr", "object_id": "1"}).content.decode()

    assert "ERP" in by_type and "NCR-2026-0001" not in by_type
    assert "NCR-2026-0001" in by_object and "leaked" not in by_object
    assert "Export these events as CSV" in by_type


def test_an_events_detail_shows_its_changes_and_its_seal_read_only(client, staff, events):
    staff()

    page = client.get(f"{BASE}{events['ncr'].pk}/change/").content.decode()

    seal = AuditSeal.objects.get(event_id=events["ncr"].pk)
    assert "<th>severity</th><td>&quot;minor&quot;</td><td>→</td><td>&quot;major&quot;</td>" in page
    assert "Customer complaint" in page
    assert seal.hash in page and seal.previous_hash in page
    assert 'name="_save"' not in page  # view only


def test_the_export_link_streams_the_filtered_list_as_csv(client, staff, events):
    staff()

    rows = csv_rows(client.get(f"{BASE}export/", {"channel": "task"}))

    assert [(r["action"], r["object_repr"], r["reason"]) for r in rows] == [
        ("revoked", "ERP", "leaked")
    ]
    assert rows[0]["sequence"] == "2"


def test_the_export_action_streams_the_selected_events(client, staff, events):
    staff()

    response = client.post(
        BASE, {"action": "export_selected_csv", "_selected_action": [events["ncr"].pk]}
    )

    assert [r["object_repr"] for r in csv_rows(response)] == ["NCR-2026-0001"]


def test_a_bad_filter_on_the_export_returns_to_the_list_as_the_list_itself_does(
    client, staff, events
):
    staff()

    response = client.get(f"{BASE}export/", {"occurred_at__gte": "not a date"})

    assert response.status_code == 302 and response["Location"] == f"{BASE}?e=1"


def test_staff_without_the_audit_permission_can_neither_list_nor_export(client, staff, events):
    staff(role="")

    assert client.get(BASE).status_code == 403
    assert client.get(f"{BASE}export/").status_code == 403


history_urls = pytest.mark.urls("tests.audit.urls_history")


@history_urls
def test_the_history_page_lists_the_objects_audit_events_from_every_channel(client, staff):
    ncr = quality.ncr_create(title="Weld crack")
    other = quality.ncr_create(title="Other")
    with audit_context(actor=actors.Actor("api_key", "5", "ERP (a1b2c3d4e5f6)"), channel="api"):
        services.event_record(
            action="updated",
            object_type="ncr",
            object_id=ncr.pk,
            object_repr=ncr.number,
            changes={"severity": ["minor", "major"]},
        )
    services.event_record(
        action="closed",
        object_type="ncr",
        object_id=ncr.pk,
        object_repr=ncr.number,
        reason="Rework verified <script>alert(1)</script>",
    )
    services.event_record(
        action="updated",
        object_type="ncr",
        object_id=other.pk,
        object_repr=other.number,
        changes={"title": ["Other", "Elsewhere"]},
    )
    services.event_record(
        action="created", object_type="capa", object_id=ncr.pk, object_repr="CAPA with same id"
    )
    services.events_seal()
    staff()

    page = client.get(f"/history-admin/quality/ncr/{ncr.pk}/history/").content.decode()

    assert f"Change history: {ncr}" in page
    assert page.count('class="audit-event"') == 3  # created (by the service), updated, closed
    assert "ERP (a1b2c3d4e5f6)" in page and "REST API" in page
    assert "<strong>severity</strong>: &quot;minor&quot; → &quot;major&quot;" in page
    assert "Rework verified &lt;script&gt;" in page and "<script>alert" not in page
    assert "Closed" in page
    assert "Elsewhere" not in page and "CAPA with same id" not in page
    event = AuditEvent.objects.filter(object_id=str(ncr.pk), object_type="ncr").first()
    assert f'href="/admin/audit/auditevent/{event.pk}/change/"' in page


@history_urls
def test_the_history_page_needs_the_objects_view_permission_and_links_only_for_audit_readers(
    client, staff, make_user
):
    ncr = quality.ncr_create(title="Weld crack")  # its service records `created`
    url = f"/history-admin/quality/ncr/{ncr.pk}/history/"
    user = staff(role="", username="clerk")

    assert client.get(url).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_ncr"))
    page = client.get(url).content.decode()

    assert page.count('class="audit-event"') == 1
    assert "/admin/audit/auditevent/" not in page


@history_urls
def test_a_long_history_is_paged_a_hundred_at_a_time(client, staff):
    ncr = quality.ncr_create(title="Weld crack")
    services.events_record_many(
        services.EventData("updated", "ncr", ncr.pk, ncr.number, {"title": [str(n), str(n + 1)]})
        for n in range(101)
    )
    staff()
    url = f"/history-admin/quality/ncr/{ncr.pk}/history/"

    first, second = client.get(url).content.decode(), client.get(url, {"p": 2}).content.decode()

    assert first.count('class="audit-event"') == 100 and "102 events" in first
    assert second.count('class="audit-event"') == 2  # the oldest update and `created`


@history_urls
def test_an_object_without_events_says_so(client, staff):
    ncr = NCR.objects.create(number="NCR-1999-0001", title="From before the trail existed")
    staff()

    page = client.get(f"/history-admin/quality/ncr/{ncr.pk}/history/").content.decode()

    assert "No audit events are recorded for this object." in page
