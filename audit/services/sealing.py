"""The sealer: appends one seal per committed event to the hash chain, one sealer at a time.

Writers never wait for the chain: an event is a plain INSERT in its change's transaction. The
sealer (celery-beat every AUDIT_SEAL_INTERVAL_SECONDS, verify_audit_trail, or a direct call)
reads the committed events that no seal names yet, in id order, hashes them after the chain
head as it read it, then locks the head and appends their seals with consecutive sequences,
each hash covering the one before — or, if another sealer moved the head meanwhile, reads
again. The lock is held for the writes only (on SQLite it is the database's one write lock).

Ids are not commit order: a transaction can take id 7, stay open, and commit after id 8 was
sealed. So the sealer does not keep "the last id sealed"; it looks for events without a seal
(an anti-join) above `scan_after_id`, and 7 is sealed on the next pass, after 8. That bound
only moves past events written more than AUDIT_SEAL_LOOKBACK_SECONDS ago, all sealed by then:
an event whose transaction stays open longer than that (or one inserted behind the
application's back with an old time) is never sealed, and verify_audit_trail names it;
`--seal-late` seals such events once someone has looked at them.

Between passes the cache keeps which ids above the bound were found without a seal (_Covered):
only those, and the ids above the newest one looked at, can still receive an unsealed event,
so a pass reads them instead of the whole lookback again (at sync rates, millions of ids).
It finds the same events: without that record the pass reads from the bound as before.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, Max, Min, OuterRef, Q, QuerySet, Subquery, Value
from django.utils import timezone

from audit.canonical import EVENT_FIELDS, GENESIS_HASH, link_hashes, utc_iso
from audit.models import AuditChainHead, AuditEvent, AuditSeal
from eqms_integration import bulk_sql

BATCH_SIZE = 1000
WINDOW = 10 * BATCH_SIZE  # ids per read of the anti-join


class ChainBroken(Exception):
    """The chain cannot be extended as it stands (its head is gone): verify it."""


def _unsealed(after_id: int | None, upto_id: int | None = None) -> QuerySet[AuditEvent]:
    seals = AuditSeal.objects.filter(event_id=OuterRef("pk"))
    if after_id is None:
        return AuditEvent.objects.filter(~Exists(seals))
    # The bound on both sides: without it on the seals, PostgreSQL's merge anti-join reads
    # the seal index from its start (every seal ever written) for each batch.
    seals = seals.filter(event_id__gt=after_id)
    events = AuditEvent.objects.filter(pk__gt=after_id)
    if upto_id is not None:
        seals, events = seals.filter(event_id__lte=upto_id), events.filter(pk__lte=upto_id)
    return events.filter(~Exists(seals))


def _unsealed_rows(
    after: int | None, limit: int, *, top: int | None = None, covered: _Covered | None = None
) -> list[tuple]:
    """The first `limit` unsealed events above `after` (None: from the first event), in id
    order, as tuples of EVENT_FIELDS' values as the reader gives them (_reader); with
    `covered`, only in the ranges it leaves open. Read a window of ids at a time: a bound on
    both sides of the id keeps the plan an index range scan even while the tables grow faster
    than their statistics (with `id > after` alone, PostgreSQL guessed a third of a table
    never analysed and scanned and hashed both tables whole for every batch)."""
    if top is None:  # the newest id, unless the caller read it already
        top = AuditEvent.objects.aggregate(top=Max("pk"))["top"]
    if top is None:
        return []
    low = after if after is not None else _first_id() - 1
    rows: list[tuple] = []
    spans = covered.open_ranges(low, top) if covered is not None else [(low, top)]
    for start, end in spans:
        while len(rows) < limit and start < end:
            high = min(start + WINDOW, end)
            rows += _window(start, high, limit - len(rows))
            start = high
    return rows


def _window(low: int, high: int, limit: int) -> list[tuple]:
    """The first `limit` unsealed events with low < id <= high, in id order."""
    if connection.vendor == "postgresql":
        return _pg_window(low, high, limit)
    return list(_unsealed(low, high).order_by("pk").values_list(*EVENT_FIELDS)[:limit])


def _pg(name: str) -> str:
    return bulk_sql.quote(name, "postgresql")


_PG_WINDOW = (  # noqa: S608 - names from model metadata, checked and quoted
    "SELECT {columns} FROM {events} AS e WHERE e.{id} > %s AND e.{id} <= %s AND NOT EXISTS "
    "(SELECT 1 FROM {seals} AS s WHERE s.{event} = e.{id} AND s.{event} > %s AND s.{event} <= %s) "
    "ORDER BY e.{id} LIMIT %s"
).format(
    columns=", ".join(f"e.{_pg(AuditEvent._meta.get_field(name).column)}" for name in EVENT_FIELDS),
    events=_pg(AuditEvent._meta.db_table),
    seals=_pg(AuditSeal._meta.db_table),
    id=_pg(AuditEvent._meta.pk.column),
    event=_pg(AuditSeal._meta.get_field("event_id").column),
)


def _pg_window(low: int, high: int, limit: int) -> list[tuple]:
    """_window as PostgreSQL sends it: the statement the ORM would write for it, through a
    psycopg cursor (bound server-side, so prepared after a few passes), each row the tuple the
    driver gives. `occurred_at` stays the text the server sent and `changes` its JSON text
    (Django's connection loads jsonb and inet as text): _reader turns them into what the ORM
    would have made, once per distinct time and with json's scanner for changes, instead of
    Django's converters per row."""
    import psycopg
    from psycopg.types.string import TextLoader

    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = psycopg.Cursor(connection.connection)
        try:
            cursor.adapters.register_loader("timestamptz", TextLoader)
            cursor.execute(_PG_WINDOW, [low, high, low, high, limit])
            return cursor.fetchall()
        finally:
            cursor.close()


_CHANGES = AuditEvent._meta.get_field("changes")
_SCAN = json.scanner.make_scanner(json.JSONDecoder())  # json.loads without its wrapper


def _stored_json(text: str | None) -> Any:
    """The JSONField's from_db_value of a jsonb text, in less time for JSON as the server
    writes it (no surrounding space): json's scanner alone, which json.loads calls too."""
    if text is None or _CHANGES.decoder is not None:
        return _CHANGES.from_db_value(text, None, connection)
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:
        end = -1
    if end != len(text):
        return _CHANGES.from_db_value(text, None, connection)
    return value


def _pg_moment() -> Callable[[str], str]:
    """The canonical text of a timestamptz as the server sent it: what Django's loader makes
    of that text, written by utc_iso."""
    from psycopg import pq

    raw = connection.connection
    oid = raw.adapters.types["timestamptz"].oid
    loader = raw.adapters.get_loader(oid, pq.Format.TEXT)(oid, raw)
    return lambda text: utc_iso(loader.load(text.encode()))


def _reader() -> dict[str, Callable[[Any], Any]]:
    """link_hashes' `moment` and `changes` for the rows _window returns."""
    if connection.vendor == "postgresql":
        return {"moment": _pg_moment(), "changes": _stored_json}
    return {}


# --- what earlier passes found sealed ----------------------------------------------------
MAX_HOLES = 64


@dataclass(frozen=True)
class _Covered:
    """What the last pass found: every id above the scan bound up to `frontier` has a seal,
    but those in `holes` ((after, upto] ranges: ids no event had when they were looked at,
    or whose event was not committed yet). Only a hole can still receive an event that needs
    a seal (an id taken by a transaction still open, or one given behind the application's
    back): an id with a seal has its event. So a pass reads the holes and the ids above the
    frontier, not every id of the lookback again.

    Kept in the cache between passes, with the chain position it was found at (`sequence`,
    `hash`): taken only while that seal is in the chain (the same chain up to there, so the
    same seals); lost, stale or from another database, the pass reads from the scan bound as
    it always did, and finds it again. Seals are never deleted, so what it says stays true."""

    sequence: int
    hash: str
    frontier: int
    holes: tuple[tuple[int, int], ...]

    def open_ranges(self, low: int, top: int) -> list[tuple[int, int]]:
        """The (start, end] ranges above `low` up to `top` that may hold unsealed events."""
        spans = [(max(after, low), min(upto, top)) for after, upto in self.holes]
        spans.append((max(self.frontier, low), top))
        return [(start, end) for start, end in spans if start < end]


def _covered_key() -> str:
    return f"audit:sealer:covered:{connection.settings_dict['NAME']}"


def _recalled() -> _Covered | None:
    try:
        kept = cache.get(_covered_key())
    except Exception:  # the cache is an aid only: without it, the pass reads everything
        return None
    try:
        holes = tuple((int(after), int(upto)) for after, upto in kept["holes"])
        covered = _Covered(int(kept["sequence"]), str(kept["hash"]), int(kept["frontier"]), holes)
    except (KeyError, TypeError, ValueError):
        return None  # not what _remember writes
    return covered


def _unsealed_ids(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The (after, upto] runs of ids without a seal within the disjoint (after, upto] `ranges`:
    the seals' event ids in them, in order (an index range scan), and the gaps between."""
    if not ranges:
        return []
    ranges = sorted(ranges)
    inside = Q()
    for after, upto in ranges:
        inside |= Q(event_id__gt=after, event_id__lte=upto)
    sealed = (
        AuditSeal.objects.filter(inside)
        .order_by("event_id")
        .values_list("event_id", flat=True)
        .iterator(chunk_size=WINDOW)
    )
    gaps: list[tuple[int, int]] = []
    event = next(sealed, None)
    for after, upto in ranges:
        last = after  # the last id known to have a seal, or the range's start
        while event is not None and event <= upto:
            if event > last + 1:
                gaps.append((last, event - 1))
            last = max(last, event)
            event = next(sealed, None)
        if last < upto:
            gaps.append((last, upto))
    return gaps


def _fewer(holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """At most MAX_HOLES holes: the two closest are merged into one (its sealed ids between
    are read again, to no effect, until the scan bound passes them)."""
    holes = sorted(holes)
    while len(holes) > MAX_HOLES:
        at = min(range(len(holes) - 1), key=lambda i: holes[i + 1][0] - holes[i][1])
        holes[at : at + 2] = [(holes[at][0], holes[at + 1][1])]
    return holes


def _remember(scan_after: int, top: int, covered: _Covered | None) -> None:
    """Find which ids above the scan bound up to `top` have no seal (in the holes and above
    the frontier that `covered` had), and keep that for the next passes. The head is read
    after the seals: every seal seen was committed with a head at or before it."""
    start = max(covered.frontier, scan_after) if covered is not None else scan_after
    ranges = [
        (max(a, scan_after), b) for a, b in (covered.holes if covered else ()) if b > scan_after
    ]
    if top > start:
        ranges.append((start, top))
    found = _fewer(_unsealed_ids(ranges))
    head = (
        AuditChainHead.objects.filter(pk=AuditChainHead.HEAD_ID)
        .values_list("last_sequence", "last_hash")
        .first()
    )
    if head is None or not head[0]:
        return
    kept = {"sequence": head[0], "hash": head[1], "frontier": max(top, start), "holes": found}
    try:
        cache.set(_covered_key(), kept, timeout=None)
    except Exception:  # an aid only (see _recalled): the next pass reads everything
        return


def _first_id() -> int:
    return AuditEvent.objects.aggregate(first=Min("pk"))["first"] or 1


def _locked_head() -> AuditChainHead:
    if not connection.features.has_select_for_update:
        # SQLite ignores FOR UPDATE; a write takes its database lock, so sealers still take
        # turns (the unique sequence would refuse a second chain anyway).
        AuditChainHead.objects.filter(pk=AuditChainHead.HEAD_ID).update(updated_at=F("updated_at"))
    # Seals are looked for before the head is read: seals committed by then came with their
    # head, so a missing head is a deleted one. Looked for after, they may be those of the
    # first sealer, which committed the head and its first seals while this one waited.
    sealed_before = AuditSeal.objects.exists()
    head = AuditChainHead.objects.select_for_update().filter(pk=AuditChainHead.HEAD_ID).first()
    if head is not None:
        return head
    if sealed_before:
        raise ChainBroken("The audit chain head is missing although seals exist.")
    AuditChainHead.objects.get_or_create(pk=AuditChainHead.HEAD_ID)
    return AuditChainHead.objects.select_for_update().get(pk=AuditChainHead.HEAD_ID)


_SEAL_COLUMNS = ["sequence", "event_id", "previous_hash", "hash", "sealed_at"]


def _links(last_sequence: int, last_hash: str, rows: list[tuple], now: datetime) -> list[tuple]:
    """The seals of `rows` (from _unsealed_rows) after the link (last_sequence, last_hash)."""
    previous = last_hash or GENESIS_HASH
    hashes = link_hashes(rows, sequence=last_sequence, previous_hash=previous, **_reader())
    return [
        (sequence, row[0], before, digest, now)
        for sequence, row, before, digest in zip(
            range(last_sequence + 1, last_sequence + len(rows) + 1),
            rows,
            [previous, *hashes][:-1],
            hashes,
            strict=True,
        )
    ]


def _append(head: AuditChainHead, seals: list[tuple]) -> None:
    # One COPY on PostgreSQL, multi-row INSERTs on SQLite and SQL Server (bulk_create of a
    # thousand seals cost the sealer more than hashing them); a taken sequence or event still
    # fails them with IntegrityError.
    if not _pg_copy(seals) and bulk_sql.insert(AuditSeal, _SEAL_COLUMNS, seals) is None:
        AuditSeal.objects.bulk_create([AuditSeal(*seal) for seal in seals])
    head.last_sequence, head.last_hash = seals[-1][0], seals[-1][3]


_HEX = re.compile(r"[0-9a-f]{64}")
_PG_COPY = "COPY {} ({}) FROM STDIN".format(
    _pg(AuditSeal._meta.db_table), ", ".join(_pg(column) for column in _SEAL_COLUMNS)
)


def _pg_copy(seals: list[tuple]) -> bool:
    """PostgreSQL: the seals as one block of COPY text, written in one join (psycopg's
    write_row formats each row in Python calls: more than a seal's hash costs). Every value
    is a number, a hex digest or the batch's one time, so none needs escaping; a previous
    hash from the head that is not a digest goes through bulk_sql instead. False elsewhere."""
    if connection.vendor != "postgresql":
        return False
    first = seals[0]
    if not _HEX.fullmatch(first[2]) or any(seal[4] is not first[4] for seal in seals):
        return bulk_sql.copy_rows(AuditSeal, _SEAL_COLUMNS, seals, prepared=True) is not None
    import psycopg

    when = first[4].isoformat()
    text = "".join(
        f"{int(sequence)}\t{int(event)}\t{previous}\t{digest}\t{when}\n"
        for sequence, event, previous, digest, _ in seals
    )
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = psycopg.Cursor(connection.connection)
        try:
            with cursor.copy(_PG_COPY) as copy:
                copy.write(text)
        finally:
            cursor.close()
    return True


def _advance_scan(head: AuditChainHead, now: datetime) -> None:
    """Move the scan bound up to the newest event older than the lookback, but never past an
    event still unsealed (one committed since this pass read)."""
    cutoff = now - timedelta(seconds=settings.AUDIT_SEAL_LOOKBACK_SECONDS)
    above = AuditEvent.objects.filter(pk__gt=head.scan_after_id)
    settled = above.filter(occurred_at__lt=cutoff).aggregate(last=Max("pk"))["last"]
    if settled is None:
        return
    waiting = _unsealed(head.scan_after_id).filter(pk__lte=settled)
    first_waiting = waiting.aggregate(first=Min("pk"))["first"]
    head.scan_after_id = settled if first_waiting is None else first_waiting - 1


def _seal_batch(
    *, include_late: bool, now: datetime, past: int | None, covered: _Covered | None
) -> tuple[int, int | None]:
    """One batch; `past`: the last id the previous batch of the same pass sealed, read on
    from there (an event below it committed meanwhile is the next pass's, which reads from
    the scan bound again). Returns the count and the last id.

    The events are read and hashed before the head's lock is taken, from the head as it was
    read then; under the lock the seals are written only if the head has not moved since
    (another sealer extended the chain: read and hash again). On SQLite the lock is the whole
    database's write lock, which sync batches and every other writer wait for."""
    while True:
        seen = (
            AuditChainHead.objects.filter(pk=AuditChainHead.HEAD_ID)
            .values_list("last_sequence", "last_hash", "scan_after_id")
            .first()
        ) or (0, "", 0)
        after = None if include_late else seen[2]
        if past is not None:
            after = past if after is None else max(after, past)
        rows = _unsealed_rows(after, BATCH_SIZE, covered=covered)
        seals = _links(seen[0], seen[1], rows, now)
        with transaction.atomic():
            head = _locked_head()
            if (head.last_sequence, head.last_hash) != seen[:2]:
                continue  # another sealer sealed meanwhile: what was read may be sealed
            if seals:
                _append(head, seals)
            if len(rows) < BATCH_SIZE:
                _advance_scan(head, now)
            head.updated_at = now
            head.save()
        return len(rows), (rows[-1][0] if rows else past)


def events_seal(*, include_late: bool = False) -> int:
    """Seal every committed event that has no seal yet; returns how many were sealed.

    `include_late` also seals events below the scan bound (see the module docstring): only
    after a person has judged them genuine."""
    covered = None if include_late else _recalled()
    newest = Subquery(AuditEvent.objects.order_by("-pk").values("pk")[:1])
    found = (
        Exists(AuditSeal.objects.filter(sequence=covered.sequence, hash=covered.hash))
        if covered is not None
        else Value(False)
    )
    head = (
        AuditChainHead.objects.filter(pk=AuditChainHead.HEAD_ID)
        .values_list("scan_after_id", newest, found)
        .first()
    )
    if head is None:  # no chain yet
        head = (None, AuditEvent.objects.aggregate(top=Max("pk"))["top"], False)
    scan_after, top, chained = head
    if not chained:
        covered = None
    total = 0
    first = _unsealed_rows(None if include_late else scan_after, 1, top=top, covered=covered)
    # The first batch reads on from there (not from the scan bound again): an event below it
    # committed since is the next pass's, as for the batches after it.
    past = first[0][0] - 1 if first else None
    while first:
        try:
            sealed, past = _seal_batch(
                include_late=include_late, now=timezone.now(), past=past, covered=covered
            )
        except IntegrityError:
            # The sequences after the head are unique: one is taken only if a seal was
            # written around the sealer. Nothing is sealed until the chain is looked at.
            raise ChainBroken(
                "The next sequence after the chain head is already taken by a seal."
            ) from None
        total += sealed
        if sealed < BATCH_SIZE:
            break
    if (
        top is not None
        and not include_late
        and (total or covered is None or covered.frontier < top)
    ):
        # The usual idle pass (nothing new, the frontier at the newest id) stops before this:
        # one read, no lock, no write.
        _remember(scan_after or 0, top, covered)
    return total
