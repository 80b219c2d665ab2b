"""Recomputing the chain: every seal in sequence order against the event it names.

The first problem found is reported, in this order of checks: a gap in the sequences (a seal
and so an event deleted), a seal whose previous_hash is not the hash before it (seals
reordered or replaced), a seal whose event is gone (deleted), an event whose content no longer
gives its seal's hash (edited), a head that does not end where the chain ends (the newest
events and seals deleted: tail truncated), seals beyond the head, and an event older than the
lookback with no seal (never sealed: committed too late, or inserted behind the application's
back). It runs beside the sealer without locking it out: it checks the chain up to the head
as read when it starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from audit.canonical import EVENT_FIELDS, GENESIS_HASH, link_hashes_at, utc_iso
from audit.models import AuditChainHead, AuditEvent, AuditSeal

CHUNK = 2000


@dataclass(frozen=True)
class Verification:
    sealed: int
    awaiting_seal: int
    first_sequence: int | None
    last_sequence: int | None
    first_at: datetime | None
    last_at: datetime | None
    last_hash: str
    problem: str = ""
    event_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problem

    def summary(self) -> str:
        if not self.ok:
            return f"Audit trail BROKEN: {self.problem}"
        if not self.sealed:
            return f"Audit trail intact: 0 sealed events, {self.awaiting_seal} awaiting their seal."
        return (
            f"Audit trail intact: {self.sealed} sealed events, sequence {self.first_sequence}"
            f"-{self.last_sequence}, {utc_iso(self.first_at)} to {utc_iso(self.last_at)}, "
            f"{self.awaiting_seal} awaiting their seal, last hash {self.last_hash}."
        )


class _Broken(Exception):
    def __init__(self, problem: str, event_id: int | None = None) -> None:
        super().__init__(problem)
        self.problem, self.event_id = problem, event_id


@dataclass
class _Walk:
    sealed: int = 0
    last_sequence: int = 0
    last_hash: str = GENESIS_HASH
    first_at: datetime | None = None
    last_at: datetime | None = None


def _check_seal(walk: _Walk, seal: AuditSeal, row: dict | None, digest: str | None) -> None:
    """`digest`: link_hash of `row` at the seal's link."""
    expected = walk.last_sequence + 1
    if seal.sequence != expected:
        raise _Broken(
            f"sequence {expected} is missing (the chain jumps from {walk.last_sequence} to "
            f"{seal.sequence}, at event {seal.event_id}): a sealed event was deleted.",
            seal.event_id,
        )
    if seal.previous_hash != walk.last_hash:
        raise _Broken(
            f"the seal of event {seal.event_id} (sequence {seal.sequence}) does not follow "
            "the one before it: seals were reordered or replaced.",
            seal.event_id,
        )
    if row is None:
        raise _Broken(
            f"event {seal.event_id} (sequence {seal.sequence}) is missing: it was deleted.",
            seal.event_id,
        )
    if digest != seal.hash:
        raise _Broken(
            f"event {seal.event_id} (sequence {seal.sequence}) does not match its hash: it was "
            "changed after it was sealed.",
            seal.event_id,
        )
    walk.sealed += 1
    walk.last_sequence, walk.last_hash = seal.sequence, seal.hash
    moment = row["occurred_at"]  # chain order is commit order, not quite time order
    walk.first_at = min(walk.first_at or moment, moment)
    walk.last_at = max(walk.last_at or moment, moment)


def _head() -> AuditChainHead | None:
    return AuditChainHead.objects.filter(pk=AuditChainHead.HEAD_ID).first()


def _walk_chain(walk: _Walk, up_to: int) -> None:
    """Check the seals up to `up_to`, the head's sequence when the walk began: sealers may
    append meanwhile, but a sealer commits its seals and the head together, so everything up
    to that head was complete when it was read."""
    after = 0
    while after < up_to:
        seals = list(
            AuditSeal.objects.filter(sequence__gt=after, sequence__lte=up_to).order_by("sequence")[
                :CHUNK
            ]
        )
        if not seals:
            return
        named = [s.event_id for s in seals]
        rows = {
            row["id"]: row
            for row in AuditEvent.objects.filter(pk__in=named).order_by().values(*EVENT_FIELDS)
        }
        present = [seal for seal in seals if seal.event_id in rows]
        digests = link_hashes_at(
            [tuple(rows[seal.event_id][name] for name in EVENT_FIELDS) for seal in present],
            [(seal.sequence, seal.previous_hash) for seal in present],
        )
        by_seal = dict(zip((seal.sequence for seal in present), digests, strict=True))
        for seal in seals:
            _check_seal(walk, seal, rows.get(seal.event_id), by_seal.get(seal.sequence))
        after = seals[-1].sequence


def _check_head(walk: _Walk, head: AuditChainHead | None) -> None:
    head_sequence = head.last_sequence if head else 0
    head_hash = (head.last_hash if head else "") or GENESIS_HASH
    if head_sequence > walk.last_sequence:
        raise _Broken(
            f"the chain ends at sequence {walk.last_sequence} but its head says "
            f"{head_sequence}: the newest sealed events were deleted (tail truncated)."
        )
    if head_hash != walk.last_hash:
        raise _Broken(
            f"the chain head (sequence {head_sequence}) does not match the last seal: it was "
            "written behind the sealer's back."
        )


def _check_beyond_head() -> None:
    # The newest seal is read before the head: any seal a sealer committed by then came with
    # its head, so a seal beyond the head read afterwards was written by something else.
    newest = AuditSeal.objects.aggregate(last=Max("sequence"))["last"] or 0
    head = _head()
    if head is None and newest:
        raise _Broken("the chain head is missing: it was deleted.")
    if head is not None and newest > head.last_sequence:
        raise _Broken(
            f"seals go on to sequence {newest}, beyond the chain head ({head.last_sequence}): "
            "they were written behind the sealer's back."
        )


def _check_unsealed(now: datetime) -> int:
    unsealed = AuditEvent.objects.filter(
        ~Exists(AuditSeal.objects.filter(event_id=OuterRef("pk")))
    ).order_by("pk")
    cutoff = now - timedelta(seconds=settings.AUDIT_SEAL_LOOKBACK_SECONDS)
    late = unsealed.filter(occurred_at__lt=cutoff).values_list("pk", "occurred_at").first()
    if late is not None:
        event_id, occurred_at = late
        raise _Broken(
            f"event {event_id} ({utc_iso(occurred_at)}) was never sealed: its transaction "
            f"committed more than AUDIT_SEAL_LOOKBACK_SECONDS "
            f"({settings.AUDIT_SEAL_LOOKBACK_SECONDS}) after it was written, or it was "
            "inserted behind the application's back. If it is genuine, "
            "`verify_audit_trail --seal-late` seals it.",
            event_id,
        )
    return unsealed.count()


def trail_verify() -> Verification:
    """Recompute the whole chain (read-only). Run events_seal first to include new events."""
    walk = _Walk()
    awaiting = 0
    problem, event_id = "", None
    try:
        # Seals before the head, as in _check_beyond_head: a seal committed by then came with
        # its head, so only a deleted head is missing; the first seal committed after the
        # head was read (none yet) is a sealer at work, not a break.
        sealed_before = AuditSeal.objects.exists()
        head = _head()
        if head is None and sealed_before:
            raise _Broken("the chain head is missing: it was deleted.")
        _walk_chain(walk, up_to=head.last_sequence if head else 0)
        _check_head(walk, head)
        _check_beyond_head()
        awaiting = _check_unsealed(timezone.now())
    except _Broken as broken:
        problem, event_id = broken.problem, broken.event_id
    return Verification(
        sealed=walk.sealed,
        awaiting_seal=awaiting,
        first_sequence=1 if walk.sealed else None,
        last_sequence=walk.last_sequence or None,
        first_at=walk.first_at,
        last_at=walk.last_at,
        last_hash=walk.last_hash if walk.sealed else "",
        problem=problem,
        event_id=event_id,
    )
