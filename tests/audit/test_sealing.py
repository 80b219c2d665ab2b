"""The sealer: one chain, in commit order, whatever order ids were taken in and however many
writers and sealers run at once."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest
from django.core.cache import cache
from django.db import connections, transaction
from django.utils import timezone

from audit import services
from audit.canonical import EVENT_FIELDS, GENESIS_HASH, utc_iso
from audit.models import AuditChainHead, AuditEvent, AuditSeal
from audit.tasks import seal_audit_events
from tests.audit.conftest import HEAD_TABLE, execute, tampering
from tests.audit.test_canonical import MOMENTS, ODD_CHANGES, ODD_TEXT, reference

pytestmark = pytest.mark.django_db


def chain() -> list[tuple[int, int]]:
    """(sequence, event id) of every seal, in chain order."""
    return list(AuditSeal.objects.order_by("sequence").values_list("sequence", "event_id"))


def test_sealing_chains_each_event_once_each_hash_covering_the_one_before(record):
    events = [record(object_id=n) for n in (1, 2, 3)]

    assert services.events_seal() == 3
    assert services.events_seal() == 0

    seals = list(AuditSeal.objects.order_by("sequence"))
    assert [(s.sequence, s.event_id) for s in seals] == [
        (1, events[0].pk),
        (2, events[1].pk),
        (3, events[2].pk),
    ]
    assert seals[0].previous_hash == GENESIS_HASH
    assert [s.previous_hash for s in seals[1:]] == [s.hash for s in seals[:-1]]
    head = AuditChainHead.objects.get()
    assert (head.last_sequence, head.last_hash) == (3, seals[-1].hash)


def test_a_hash_is_sha256_of_the_documented_canonical_json(record):
    event = record(object_repr="Schweißnaht", changes={"b": [1, 2], "a": [None, "x"]})
    services.events_seal()

    stored = AuditEvent.objects.get(pk=event.pk)
    document = {
        "event": {
            "id": stored.pk,
            "occurred_at": utc_iso(stored.occurred_at),
            "actor_type": "system",
            "actor_id": "",
            "actor_name": "test",
            "channel": "command",
            "action": "created",
            "object_type": "ncr",
            "object_id": "1",
            "object_repr": "Schweißnaht",
            "changes": {"a": [None, "x"], "b": [1, 2]},
            "reason": "",
            "request_id": "",
            "client_ip": None,
        },
        "previous_hash": GENESIS_HASH,
        "sequence": 1,
        "v": 1,
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert utc_iso(stored.occurred_at).endswith("Z") and len(utc_iso(stored.occurred_at)) == 27
    assert AuditSeal.objects.get().hash == hashlib.sha256(text.encode()).hexdigest()


def test_seals_are_the_documented_hashes_of_events_as_stored_whatever_they_hold(db):
    odd_changes = [c for c in ODD_CHANGES if c is not None] + ["text", 1e-07, 10**30]  # NOT NULL
    moments = iter(MOMENTS * len(odd_changes) * len(ODD_TEXT))
    odd_text = [text.replace("\x00", "") for text in ODD_TEXT]  # PostgreSQL's text has no NUL
    for n, (text, changes) in enumerate((t, c) for t in odd_text for c in odd_changes):
        AuditEvent(
            occurred_at=next(moments),
            actor_type="sync_run",
            actor_id=text[:64],
            actor_name=text,
            channel="sync",
            action="updated",
            object_type="equipment",
            object_id=str(n),
            object_repr=text,
            changes=changes,
            reason=text[::-1],
            request_id=text[:128],
            client_ip=None if n % 3 else "2001:db8::1",
        ).save()

    assert services.events_seal() == len(ODD_TEXT) * len(odd_changes)

    events = {row["id"]: row for row in AuditEvent.objects.values(*EVENT_FIELDS)}
    for seal in AuditSeal.objects.order_by("sequence"):
        expected = reference(
            events[seal.event_id], sequence=seal.sequence, previous_hash=seal.previous_hash
        )
        assert seal.hash == expected, events[seal.event_id]
    assert services.trail_verify().ok


def event_with_id(pk: int, **fields: object) -> AuditEvent:
    """An event holding a given id, as a transaction that took it earlier would commit it."""
    event = AuditEvent(
        pk=pk,
        occurred_at=fields.pop("occurred_at", None) or timezone.now(),
        actor_type="system",
        channel="command",
        action="created",
        object_type="ncr",
        object_id=str(pk),
        **fields,
    )
    event.save()
    return event


def test_an_event_with_a_lower_id_committed_after_a_higher_one_is_sealed_after_it(db):
    event_with_id(10)
    services.events_seal()

    event_with_id(5)  # took its id first, committed last
    services.events_seal()

    assert chain() == [(1, 10), (2, 5)]
    assert services.trail_verify().ok


def test_a_pass_of_several_batches_reads_each_batch_after_the_one_before(record, monkeypatch):
    monkeypatch.setattr("audit.services.sealing.BATCH_SIZE", 3)
    events = [record(object_id=n) for n in range(1, 9)]
    reads = []
    real = services.sealing._window
    monkeypatch.setattr(
        "audit.services.sealing._window",
        lambda low, high, limit: reads.append(low) or real(low, high, limit),
    )

    assert services.events_seal() == 8

    ids = [e.pk for e in events]
    assert chain() == list(enumerate(ids, start=1))
    # the check (no head yet: from the first event), then three batches: from the first
    # unsealed event the check found, then each after the last id the one before sealed (not
    # from the bound again: a pass reads each event once)
    assert reads == [ids[0] - 1, ids[0] - 1, ids[2], ids[5]]
    assert services.trail_verify().ok


def test_an_event_committed_below_a_batch_already_read_is_sealed_by_the_next_pass(db, monkeypatch):
    monkeypatch.setattr("audit.services.sealing.BATCH_SIZE", 2)
    for n in (10, 11, 12):
        event_with_id(n)
    services.events_seal()
    event_with_id(5)  # took its id first, committed last

    assert services.events_seal() == 1
    assert chain() == [(1, 10), (2, 11), (3, 12), (4, 5)]
    assert services.trail_verify().ok


def test_a_pass_after_many_sealed_events_reads_no_id_that_has_a_seal(record, monkeypatch):
    sealed = [record(object_id=n) for n in range(1, 31)]
    services.events_seal()
    new = [record(object_id=n) for n in (31, 32)]
    reads = []
    real = services.sealing._window
    monkeypatch.setattr(
        "audit.services.sealing._window",
        lambda low, high, limit: reads.append((low, high)) or real(low, high, limit),
    )

    assert services.events_seal() == 2

    assert chain()[-2:] == [(31, new[0].pk), (32, new[1].pk)]
    assert reads
    assert not [e.pk for e in sealed if any(low < e.pk <= high for low, high in reads)], reads
    assert services.trail_verify().ok


@pytest.mark.parametrize("holes_kept", [64, 1])  # 1: the open ranges merged into one
def test_an_event_committed_late_into_an_id_below_sealed_ones_is_sealed_passes_later(
    db, monkeypatch, holes_kept
):
    monkeypatch.setattr("audit.services.sealing.MAX_HOLES", holes_kept)
    for n in (10, 11, 12):
        event_with_id(n)
    services.events_seal()
    event_with_id(20)
    services.events_seal()
    assert services.events_seal() == 0  # passes that found nothing new

    event_with_id(15)  # took their ids first, committed last
    event_with_id(5)

    assert services.events_seal() == 2
    assert chain() == [(1, 10), (2, 11), (3, 12), (4, 20), (5, 5), (6, 15)]
    event_with_id(14)
    assert services.events_seal() == 1
    assert chain()[-1] == (7, 14)
    assert services.trail_verify().ok


def test_what_a_rolled_back_pass_found_sealed_is_not_taken_for_sealed(db):
    event_with_id(10)
    services.events_seal()
    with pytest.raises(RuntimeError), transaction.atomic():
        event_with_id(5)
        services.events_seal()  # seals 5, then all of it is rolled back
        raise RuntimeError

    event_with_id(5, object_repr="the real one")

    assert services.events_seal() == 1
    assert chain() == [(1, 10), (2, 5)]
    assert services.trail_verify().ok


def test_a_pass_without_what_earlier_passes_found_reads_from_the_scan_bound(db):
    for n in (10, 11, 12):
        event_with_id(n)
    services.events_seal()
    cache.clear()  # a restarted cache
    event_with_id(5)

    assert services.events_seal() == 1
    assert chain()[-1] == (4, 5)
    assert services.trail_verify().ok


def test_a_sealer_whose_batch_another_sealer_sealed_meanwhile_reads_again_and_forks_nothing(
    record, monkeypatch
):
    events = [record(object_id=n) for n in range(1, 4)]
    real, other_ran = services.sealing._links, []

    def hash_then_let_another_sealer_in(*args):
        links = real(*args)
        if not other_ran:
            other_ran.append(None)
            other_ran[0] = services.events_seal()  # seals the same events first
        return links

    monkeypatch.setattr("audit.services.sealing._links", hash_then_let_another_sealer_in)

    assert services.events_seal() == 0
    assert other_ran == [3]
    assert chain() == [(1, events[0].pk), (2, events[1].pk), (3, events[2].pk)]
    assert services.trail_verify().ok


@pytest.mark.django_db(transaction=True)
def test_the_sealer_reads_and_hashes_events_before_it_takes_the_chains_lock(record):
    from django.db import connection

    record(object_id=1)
    record(object_id=2)
    in_transaction = []
    real = services.sealing._links

    def hashing(*args):
        in_transaction.append(connection.in_atomic_block)
        return real(*args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("audit.services.sealing._links", hashing)
        assert services.events_seal() == 2

    assert in_transaction == [False]
    assert services.trail_verify().ok


def test_a_head_hash_rewritten_in_sql_is_chained_as_it_is_and_the_break_shows(record):
    record(object_id=1)
    services.events_seal()
    with tampering(HEAD_TABLE):
        execute(f"UPDATE {HEAD_TABLE} SET last_hash = %s", ("not\thex\n1\t2",))
    event = record(object_id=2)

    assert services.events_seal() == 1

    seal = AuditSeal.objects.get(event_id=event.pk)
    assert (seal.sequence, seal.previous_hash) == (2, "not\thex\n1\t2")
    assert AuditSeal.objects.count() == 2
    assert not services.trail_verify().ok


def test_the_beat_task_seals_what_is_waiting(record):
    record()

    assert seal_audit_events.apply().get() == 1
    assert len(chain()) == 1


def test_nothing_to_seal_writes_nothing(record, django_assert_max_num_queries):
    record()
    services.events_seal()

    with django_assert_max_num_queries(2):
        assert services.events_seal() == 0


def test_the_scan_bound_moves_only_past_events_older_than_the_lookback(record, clock, settings):
    settings.AUDIT_SEAL_LOOKBACK_SECONDS = 600
    first = record(object_id=1)
    services.events_seal()
    assert AuditChainHead.objects.get().scan_after_id == 0

    clock(601)
    record(object_id=2)
    services.events_seal()

    assert AuditChainHead.objects.get().scan_after_id == first.pk


def _in_thread(work, *args: object) -> threading.Thread:
    def run() -> None:
        try:
            work(*args)
        finally:
            connections.close_all()  # this thread's connection, so the test database can go

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_and_sealers_make_one_chain_without_a_fork():
    errors: list[BaseException] = []
    writing = threading.Event()
    writing.set()

    def write(worker: int) -> None:
        try:
            for n in range(40):
                services.event_record(
                    action="created",
                    object_type="record",
                    object_id=f"{worker}-{n}",
                    object_repr=f"row {n} of writer {worker}",
                )
        except BaseException as exc:
            errors.append(exc)

    def seal() -> None:
        try:
            while writing.is_set():
                services.events_seal()
        except BaseException as exc:
            errors.append(exc)

    writers = [_in_thread(write, w) for w in range(4)]
    sealers = [_in_thread(seal) for _ in range(3)]
    for thread in writers:
        thread.join()
    writing.clear()
    for thread in sealers:
        thread.join()
    services.events_seal()

    assert errors == []
    sequences = [sequence for sequence, _ in chain()]
    assert sequences == list(range(1, 161))
    assert len({event_id for _, event_id in chain()}) == AuditEvent.objects.count() == 160
    assert services.trail_verify().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_id_taken_first_but_committed_last_is_sealed_when_it_commits():
    recorded, release = threading.Event(), threading.Event()
    slow_id: list[int] = []

    def slow_transaction() -> None:
        from django.db import transaction

        with transaction.atomic():
            slow_id.append(
                services.event_record(
                    action="updated",
                    object_type="ncr",
                    object_id=1,
                    object_repr="NCR-1",
                    changes={"title": ["A", "B"]},
                ).pk
            )
            recorded.set()
            release.wait(timeout=20)

    slow = _in_thread(slow_transaction)
    assert recorded.wait(timeout=20)
    fast = services.event_record(
        action="created", object_type="ncr", object_id=2, object_repr="NCR-2"
    )
    assert services.events_seal() == 1  # the slow one is not committed: not visible yet
    release.set()
    slow.join()
    services.events_seal()

    assert slow_id[0] < fast.pk
    assert chain() == [(1, fast.pk), (2, slow_id[0])]
    assert services.trail_verify().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_id_taken_first_is_sealed_when_it_commits_after_many_passes_sealed_ids_above_it():
    recorded, release = threading.Event(), threading.Event()
    slow_id: list[int] = []

    def slow_transaction() -> None:
        with transaction.atomic():
            slow_id.append(
                services.event_record(
                    action="created", object_type="ncr", object_id=1, object_repr="NCR-1"
                ).pk
            )
            recorded.set()
            release.wait(timeout=20)

    slow = _in_thread(slow_transaction)
    assert recorded.wait(timeout=20)
    fast = []
    for n in range(2, 6):  # passes that seal ids above the open one, and idle passes
        fast += services.events_record_many(
            [services.EventData("created", "ncr", f"{n}-{m}", "NCR") for m in range(3)]
        )
        assert services.events_seal() == 3
        assert services.events_seal() == 0
    release.set()
    slow.join()

    assert services.events_seal() == 1
    assert slow_id[0] < fast[0].pk
    assert chain() == [*enumerate([e.pk for e in fast], start=1), (13, slow_id[0])]
    assert services.trail_verify().ok


def test_celery_beat_runs_the_sealer_every_interval_and_drops_ticks_it_could_not_send(settings):
    from django_celery_beat.schedulers import ModelEntry

    from eqms_integration.celery import app

    entry = ModelEntry.from_entry(
        "audit-seal-events", app=app, **settings.CELERY_BEAT_SCHEDULE["audit-seal-events"]
    )  # what DatabaseScheduler makes of the setting

    assert entry.task == "audit.seal_events" and "audit.seal_events" in app.tasks
    assert entry.schedule.run_every.total_seconds() == settings.AUDIT_SEAL_INTERVAL_SECONDS == 5
    assert entry.options["expires"] == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_verifying_while_events_are_written_and_sealed_finds_no_false_break():
    running = threading.Event()
    running.set()

    def write_and_seal() -> None:
        n = 0
        while running.is_set():
            n += 1
            services.event_record(
                action="created", object_type="record", object_id=n, object_repr=f"row {n}"
            )
            services.events_seal()

    busy = _in_thread(write_and_seal)
    try:
        results = [services.trail_verify() for _ in range(40)]
    finally:
        running.clear()
        busy.join()

    assert [r.problem for r in results if not r.ok] == []
    assert results[-1].sealed > results[0].sealed
