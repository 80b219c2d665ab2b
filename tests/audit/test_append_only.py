"""Append-only at every level: ORM, admin, REST API, and on PostgreSQL the database itself."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from audit import services
from audit.models import AppendOnlyError, AuditChainHead, AuditEvent, AuditSeal
from tests.audit.conftest import EVENT_TABLE, HEAD_TABLE, SEAL_TABLE, execute

pytestmark = pytest.mark.django_db


@pytest.fixture
def sealed(record) -> AuditEvent:
    event = record()
    services.events_seal()
    return AuditEvent.objects.get(pk=event.pk)


@pytest.mark.parametrize(
    "attempt",
    [
        lambda e: (setattr(e, "reason", "edited"), e.save()),
        lambda e: e.delete(),
        lambda e: AuditEvent.objects.filter(pk=e.pk).update(reason="edited"),
        lambda e: AuditEvent.objects.filter(pk=e.pk).delete(),
        lambda e: AuditEvent.objects.all().delete(),
        lambda e: AuditEvent.objects.bulk_update([e], ["reason"]),
        lambda e: AuditEvent.objects.update_or_create(pk=e.pk, defaults={"reason": "x"}),
        lambda e: AuditSeal.objects.filter(event_id=e.pk).update(hash="0" * 64),
        lambda e: AuditSeal.objects.get(event_id=e.pk).delete(),
        lambda e: AuditSeal.objects.all().delete(),
    ],
    ids=[
        *("save", "delete", "qs-update", "qs-delete", "delete-all", "bulk_update"),
        *("update_or_create", "seal-update", "seal-delete", "seal-delete-all"),
    ],
)
def test_the_orm_refuses_to_change_or_delete_events_and_seals(sealed, attempt):
    with pytest.raises(AppendOnlyError, match="append-only"):
        attempt(sealed)

    assert AuditEvent.objects.get(pk=sealed.pk).reason == ""
    assert services.trail_verify().ok


def test_a_bulk_insert_cannot_overwrite_an_event_on_conflict(sealed):
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.bulk_create(
            [sealed], update_conflicts=True, unique_fields=["id"], update_fields=["reason"]
        )


def test_the_admin_offers_no_add_change_or_delete(client, make_user, sealed):
    make_user("root", superuser=True)
    client.login(username="root", password="pw-12345678")
    base = "/admin/audit/auditevent"

    assert client.get(f"{base}/add/").status_code == 403
    assert client.post(f"{base}/{sealed.pk}/change/", {"reason": "edited"}).status_code == 403
    assert client.get(f"{base}/{sealed.pk}/delete/").status_code == 403
    assert client.post(f"{base}/{sealed.pk}/delete/", {"post": "yes"}).status_code == 403
    assert "delete_selected" not in client.get(f"{base}/").content.decode()
    refused = client.post(
        f"{base}/", {"action": "delete_selected", "_selected_action": [sealed.pk]}, follow=True
    )
    assert [str(m) for m in refused.context["messages"]] == ["No action selected."]
    assert AuditEvent.objects.get(pk=sealed.pk).reason == ""
    assert services.trail_verify().ok


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_api_refuses_every_write_to_whoever_may_read(client_for, sealed, method):
    api = client_for("Admin")
    path = "/api/audit-events/" if method == "post" else f"/api/audit-events/{sealed.pk}/"

    response = getattr(api, method)(path, {"reason": "edited"}, format="json")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert AuditEvent.objects.get(pk=sealed.pk).reason == ""


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        f"UPDATE {EVENT_TABLE} SET reason = 'edited'",
        f"DELETE FROM {EVENT_TABLE}",
        f"UPDATE {SEAL_TABLE} SET hash = repeat('0', 64)",
        f"DELETE FROM {SEAL_TABLE}",
        f"DELETE FROM {HEAD_TABLE}",
        f"UPDATE {HEAD_TABLE} SET last_sequence = 0",
    ],
)
def test_postgresql_refuses_update_and_delete_in_sql_too(sealed, statement):
    refused = r"append-only|only moves forward"
    with pytest.raises(IntegrityError, match=refused), transaction.atomic():
        execute(statement)

    assert AuditEvent.objects.get(pk=sealed.pk).reason == ""
    assert AuditChainHead.objects.get().last_sequence == 1
    assert services.trail_verify().ok


@pytest.mark.postgres
def test_postgresql_lets_the_sealer_move_the_head_forward(sealed, record):
    record(object_id=2)

    assert services.events_seal() == 1
    assert AuditChainHead.objects.get().last_sequence == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgresql_triggers_leave_the_test_runners_truncate_alone(record):
    """A transactional test ends with TRUNCATE of every table: it must still work (the next
    test, and this suite, depend on it) - the triggers are on rows, TRUNCATE is not."""
    record()
    services.events_seal()

    execute(f"TRUNCATE {EVENT_TABLE}, {SEAL_TABLE}, {HEAD_TABLE}")

    assert not AuditEvent.objects.exists() and not AuditSeal.objects.exists()


def test_pruning_webhook_deliveries_leaves_the_delivery_evidence_in_the_trail(record):
    evidence = record(
        action="delivered",
        object_type="webhook_delivery",
        object_id=12,
        object_repr="ERP: ncr.updated (msg_2x)",
        changes={"status": ["delivering", "succeeded"]},
    )
    services.events_seal()

    call_command(
        "prune_webhook_deliveries", "--older-than-days", "1", "--commit", stdout=StringIO()
    )

    assert AuditEvent.objects.get(pk=evidence.pk).object_repr == "ERP: ncr.updated (msg_2x)"
    assert services.trail_verify().ok
