"""GET /api/audit-events/: filters, the seal, who may read it, and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys import services as apikeys
from audit import actors, services
from audit.context import audit_context
from audit.models import AuditEvent, AuditSeal

pytestmark = pytest.mark.django_db
LIST = "/api/audit-events/"


@pytest.fixture
def trail(make_user) -> dict[str, AuditEvent]:
    """An NCR created in the admin by alice, then changed by an ERP key over the API, and a
    supplier retired by a sync run; the first two sealed."""
    alice = make_user("alice")
    with audit_context(actor=actors.user(alice), channel="admin"):
        created = services.event_record(
            action="created",
            object_type="ncr",
            object_id=1,
            object_repr="NCR-2026-0001",
            changes={"title": [None, "Weld crack"]},
        )
    key = actors.Actor("api_key", "5", "ERP (a1b2c3d4e5f6)")
    with audit_context(actor=key, channel="api"):
        updated = services.event_record(
            action="updated",
            object_type="ncr",
            object_id=1,
            object_repr="NCR-2026-0001",
            changes={"severity": ["minor", "major"]},
        )
    services.events_seal()
    with audit_context(
        actor=actors.Actor("sync_run", "9", "ERP suppliers (run 9)"), channel="sync"
    ):
        retired = services.event_record(
            action="retired",
            object_type="supplier",
            object_id=4,
            object_repr="=HYPERLINK(1)",
            changes={"status": ["active", "inactive"]},
        )
    return {"created": created, "updated": updated, "retired": retired}


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [event["id"] for event in response.json()["results"]]


def test_the_list_is_newest_first_with_actor_changes_and_seal(client_for, trail):
    body = client_for("Auditor").get(LIST).json()

    assert body["count"] == 3
    assert [e["id"] for e in body["results"]] == [
        trail["retired"].pk,
        trail["updated"].pk,
        trail["created"].pk,
    ]
    updated = body["results"][1]
    assert updated["actor"] == {"type": "api_key", "id": "5", "name": "ERP (a1b2c3d4e5f6)"}
    assert (updated["channel"], updated["action"], updated["object_type"]) == (
        "api",
        "updated",
        "ncr",
    )
    assert updated["changes"] == {"severity": ["minor", "major"]}
    assert updated["seal"]["sequence"] == 2
    assert body["results"][0]["seal"] is None  # not sealed yet


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("object_type=ncr", ["updated", "created"]),
        ("object_type=ncr&object_id=1", ["updated", "created"]),
        ("object_id=4", ["retired"]),
        ("actor_type=sync_run", ["retired"]),
        ("actor_type=api_key&actor_id=5", ["updated"]),
        ("channel=admin", ["created"]),
        ("action=retired", ["retired"]),
        ("search=HYPERLINK", ["retired"]),
    ],
)
def test_each_filter_narrows_the_list(client_for, trail, query, expected):
    response = client_for("Manager").get(f"{LIST}?{query}")

    assert ids(response) == [trail[name].pk for name in expected]


def test_time_filters_take_iso_8601_and_before_is_exclusive(client_for, trail):
    api = client_for("Admin")
    moment = trail["updated"].occurred_at

    after = ids(api.get(LIST, {"occurred_after": moment.isoformat()}))
    before = ids(api.get(LIST, {"occurred_before": moment.isoformat()}))
    later = (timezone.now() + timedelta(days=1)).isoformat()

    assert trail["updated"].pk in after and trail["created"].pk not in after
    assert trail["updated"].pk not in before and trail["created"].pk in before
    assert ids(api.get(LIST, {"occurred_after": later})) == []


@pytest.mark.parametrize(
    "query", ["object_type=spaceship", "occurred_after=yesterday", "channel=pigeon"]
)
def test_a_bad_filter_is_a_400_in_the_error_shape(client_for, trail, query):
    response = client_for("Auditor").get(f"{LIST}?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_the_detail_shows_the_seal_of_the_event(client_for, trail):
    body = client_for("Auditor").get(f"{LIST}{trail['created'].pk}/").json()

    seal = AuditSeal.objects.get(event_id=trail["created"].pk)
    assert body["seal"] == {"sequence": 1, "hash": seal.hash, "previous_hash": "0" * 64}
    assert body["object_repr"] == "NCR-2026-0001"


READERS = [("Admin", 200), ("Manager", 200), ("Auditor", 200), ("superuser", 200)]


@pytest.mark.parametrize(("role", "status"), [*READERS, ("", 403), (None, 401)])
def test_admin_manager_and_auditor_read_the_trail_nobody_else(client_for, trail, role, status):
    api = client_for(role)

    assert api.get(LIST).status_code == status
    assert api.get(f"{LIST}{trail['created'].pk}/").status_code == status
    assert api.get(LIST, {"format": "csv"}).status_code == status


@pytest.mark.parametrize(
    ("scopes", "status"),
    [(["audit:read"], 200), (["*"], 200), (["ncr:read", "webhooks:manage"], 403)],
)
def test_an_api_key_needs_the_audit_read_scope(trail, scopes, status):
    issued = apikeys.apikey_create(name="Auditor tool", scopes=scopes)
    api = APIClient(HTTP_X_API_KEY=issued.key)

    response = api.get(LIST)

    assert response.status_code == status
    if status == 403:
        assert response.json()["message"] == "This API key lacks the scope 'audit:read'."
    assert api.get(LIST, {"format": "csv"}).status_code == status
    assert api.post(LIST, {}, format="json").status_code == 405  # no key writes, whatever scope


def read_csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-events-')
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_exports_the_filtered_list_with_every_column(client_for, trail):
    rows = read_csv(client_for("Auditor").get(LIST, {"format": "csv", "object_type": "ncr"}))

    assert [row["id"] for row in rows] == [str(trail["updated"].pk), str(trail["created"].pk)]
    assert rows[0]["actor_name"] == "ERP (a1b2c3d4e5f6)"
    assert rows[0]["changes"] == '{"severity": ["minor", "major"]}'
    assert rows[0]["sequence"] == "2"
    assert len(rows[0]["hash"]) == 64 and rows[0]["occurred_at"].endswith("Z")


def test_csv_is_chosen_by_the_accept_header_too(client_for, trail):
    rows = read_csv(client_for("Auditor").get(LIST, {"action": "created"}, HTTP_ACCEPT="text/csv"))

    assert [row["object_repr"] for row in rows] == ["NCR-2026-0001"]


def test_csv_of_one_event(client_for, trail):
    rows = read_csv(client_for("Auditor").get(f"{LIST}{trail['retired'].pk}/?format=csv"))

    assert [row["action"] for row in rows] == ["retired"]
    assert rows[0]["sequence"] == ""  # awaiting its seal


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_made_text(client_for, trail):
    rows = read_csv(client_for("Auditor").get(LIST, {"format": "csv", "action": "retired"}))

    assert rows[0]["object_repr"] == "'=HYPERLINK(1)"


def test_a_csv_request_that_fails_answers_in_the_json_error_shape(client_for, trail):
    api = client_for("Auditor")
    response = api.get(LIST, {"format": "csv", "occurred_after": "never"})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "validation_error"
    missing = api.get(f"{LIST}999999/", {"format": "csv"})
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_asking_for_csv_where_no_csv_is_streamed_answers_json(client_for, trail):
    """OPTIONS describes the endpoint and an error is an error: both JSON, never a 500."""
    auditor = client_for("Auditor")

    described = auditor.options(f"{LIST}?format=csv")
    missing = auditor.options(f"{LIST}0/?format=csv")
    not_found = auditor.get(f"{LIST}0/?format=csv")

    assert described.status_code == 200 and described["Content-Type"] == "application/json"
    assert missing.status_code in (200, 404) and missing["Content-Type"] == "application/json"
    assert not_found.status_code == 404 and not_found.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "moment", ["2026-01-01T08:00:00+16:00", "0001-01-01T00:00:00+10:00", "9999-12-31T23:00-05:00"]
)
def test_time_filters_out_of_range_once_in_utc_are_a_400_or_an_answer_never_a_500(
    client_for, trail, moment
):
    api = client_for("Auditor")
    for name in ("occurred_after", "occurred_before"):
        response = api.get(LIST, {name: moment})

        assert response.status_code in (200, 400), response.content
        if response.status_code == 400:
            assert list(response.json()["errors"]) == [name]


@pytest.mark.parametrize(
    "object_type", ["beat_interval", "beat_crontab", "beat_solar", "beat_clocked", "beat_task"]
)
def test_the_beat_object_types_are_filters_of_the_list_and_of_its_csv(client_for, object_type):
    services.event_record(
        action="updated",
        object_type=object_type,
        object_id=3,
        object_repr="every 5 minutes",
        changes={"every": [15, 5]},
    )
    auditor = client_for("Auditor")

    listed = auditor.get(f"{LIST}?object_type={object_type}")
    rows = read_csv(auditor.get(f"{LIST}?object_type={object_type}&format=csv"))

    assert listed.status_code == 200
    assert [e["object_type"] for e in listed.json()["results"]] == [object_type]
    assert [row["object_type"] for row in rows] == [object_type]
