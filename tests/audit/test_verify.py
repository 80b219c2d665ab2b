"""verify_audit_trail: exit 0 with a summary for an intact trail; exit 1 naming the first event
that does not match after the rows were tampered with in SQL."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from audit import services
from audit.canonical import utc_iso
from audit.models import AuditEvent, AuditSeal
from tests.audit.conftest import EVENT_TABLE, HEAD_TABLE, SEAL_TABLE, execute, tampering

pytestmark = pytest.mark.django_db


def verify(*args: str) -> str:
    out = StringIO()
    call_command("verify_audit_trail", *args, stdout=out)
    return out.getvalue().strip()


def broken(*args: str) -> str:
    with pytest.raises(CommandError) as failure:
        verify(*args)
    assert failure.value.returncode == 1
    return str(failure.value)


@pytest.fixture
def three(record) -> list[AuditEvent]:
    events = [record(object_id=n) for n in (1, 2, 3)]
    services.events_seal()
    return events


def test_an_intact_trail_passes_with_a_one_line_summary(record):
    first, _, last = (record(object_id=n) for n in (1, 2, 3))

    summary = verify()  # seals the three first

    head = AuditSeal.objects.get(sequence=3)
    assert summary.count("\n") == 0
    assert summary.startswith("Audit trail intact: 3 sealed events, sequence 1-3, ")
    assert f"{utc_iso(first.occurred_at)} to {utc_iso(last.occurred_at)}" in summary
    assert f"last hash {head.hash}." in summary
    assert last.pk == head.event_id


def test_an_empty_trail_passes(db):
    assert verify() == "Audit trail intact: 0 sealed events, 0 awaiting their seal."


def test_an_event_edited_in_sql_after_sealing_fails_naming_it(three):
    with tampering(EVENT_TABLE):
        execute(
            f"UPDATE {EVENT_TABLE} SET reason = 'nothing happened' WHERE id = %s", (three[1].pk,)
        )

    message = broken()

    assert f"event {three[1].pk} (sequence 2) does not match its hash" in message
    assert "changed after it was sealed" in message


def test_an_edited_change_value_fails_too(three):
    with tampering(EVENT_TABLE):
        execute(
            f"UPDATE {EVENT_TABLE} SET changes = %s WHERE id = %s",
            ('{"title": [null, "Nothing to see"]}', three[0].pk),
        )

    assert f"event {three[0].pk} (sequence 1) does not match its hash" in broken()


def test_a_deleted_event_fails_naming_it(three):
    with tampering(EVENT_TABLE):
        execute(f"DELETE FROM {EVENT_TABLE} WHERE id = %s", (three[1].pk,))

    assert f"event {three[1].pk} (sequence 2) is missing: it was deleted" in broken()


def test_a_deleted_event_and_its_seal_leave_a_gap_in_the_sequence(three):
    with tampering(EVENT_TABLE, SEAL_TABLE):
        execute(f"DELETE FROM {EVENT_TABLE} WHERE id = %s", (three[1].pk,))
        execute(f"DELETE FROM {SEAL_TABLE} WHERE event_id = %s", (three[1].pk,))

    message = broken()

    assert "sequence 2 is missing (the chain jumps from 1 to 3" in message
    assert f"at event {three[2].pk}" in message


def test_a_truncated_tail_fails_because_the_head_remembers_the_end(three):
    with tampering(EVENT_TABLE, SEAL_TABLE):
        execute(f"DELETE FROM {EVENT_TABLE} WHERE id = %s", (three[2].pk,))
        execute(f"DELETE FROM {SEAL_TABLE} WHERE sequence = 3")

    message = broken()

    assert "the chain ends at sequence 2 but its head says 3" in message
    assert "tail truncated" in message


def test_seals_swapped_between_events_fail(three):
    first, second = three[0].pk, three[1].pk
    with tampering(SEAL_TABLE):
        execute(f"UPDATE {SEAL_TABLE} SET event_id = -1 WHERE event_id = %s", (first,))
        execute(f"UPDATE {SEAL_TABLE} SET event_id = %s WHERE event_id = %s", (first, second))
        execute(f"UPDATE {SEAL_TABLE} SET event_id = %s WHERE event_id = -1", (second,))

    assert f"event {second} (sequence 1) does not match its hash" in broken()


def test_a_replaced_seal_breaks_the_link_to_the_next_one(three):
    with tampering(SEAL_TABLE):
        execute(f"UPDATE {SEAL_TABLE} SET hash = %s WHERE sequence = 2", ("f" * 64,))

    assert f"event {three[1].pk} (sequence 2) does not match its hash" in broken()


def test_a_deleted_chain_head_fails(three):
    with tampering(HEAD_TABLE):
        execute(f"DELETE FROM {HEAD_TABLE}")

    assert "head is missing" in broken()


def _event_at(pk: int, when) -> AuditEvent:
    event = AuditEvent(
        pk=pk,
        occurred_at=when,
        actor_type="system",
        channel="command",
        action="created",
        object_type="ncr",
        object_id=str(pk),
    )
    event.save()
    return event


def test_an_event_the_sealer_passed_by_is_named_never_sealed_until_seal_late(db, clock, settings):
    settings.AUDIT_SEAL_LOOKBACK_SECONDS = 600
    start = timezone.now()
    _event_at(10, start)
    services.events_seal()
    clock(601)
    _event_at(20, timezone.now())
    services.events_seal()  # the scan bound moves past 10
    _event_at(5, start)  # took id 5 before 10, committed eleven minutes later (or forged)

    message = broken()

    assert "event 5 (" in message and "was never sealed" in message
    assert "--seal-late" in message
    assert verify("--seal-late").startswith("Audit trail intact: 3 sealed events")
    assert AuditSeal.objects.get(event_id=5).sequence == 3


def test_an_event_waiting_for_its_seal_within_the_lookback_is_no_problem(record):
    record()

    result = services.trail_verify()  # read-only: does not seal

    assert result.ok and result.awaiting_seal == 1 and result.sealed == 0


def test_a_seal_added_beyond_the_head_fails(three, record):
    extra = record(object_id=4)
    execute(
        f"INSERT INTO {SEAL_TABLE} (sequence, event_id, previous_hash, hash, sealed_at) "
        "VALUES (4, %s, %s, %s, %s)",
        (extra.pk, AuditSeal.objects.get(sequence=3).hash, "e" * 64, timezone.now()),
    )

    assert "seals go on to sequence 4, beyond the chain head (3)" in broken()


def test_a_seal_taking_the_next_sequence_stops_the_sealer_and_is_named(three, record):
    waiting = record(object_id=4)
    execute(
        f"INSERT INTO {SEAL_TABLE} (sequence, event_id, previous_hash, hash, sealed_at) "
        "VALUES (4, %s, %s, %s, %s)",
        (999999, AuditSeal.objects.get(sequence=3).hash, "e" * 64, timezone.now()),
    )

    with pytest.raises(services.ChainBroken, match="already taken"):
        services.events_seal()
    assert "beyond the chain head (3)" in broken()
    assert not AuditSeal.objects.filter(event_id=waiting.pk).exists()
