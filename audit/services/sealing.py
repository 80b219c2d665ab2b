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
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, Max, Min, OuterRef, QuerySet, Subquery
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


def _unsealed_rows(after: int | None, limit: int, *, top: int | None = None) -> list[tuple]:
    """The first `limit` unsealed events above `after` (None: from the first event), in id
    order, as tuples of EVENT_FIELDS' values as the reader gives them (_reader). Read a window
    of ids at a time: a bound on both sides of the id keeps the plan an index range scan even
    while the tables grow faster than their statistics (with `id > after` alone, PostgreSQL
    guessed a third of a table never analysed and scanned and hashed both tables whole for
    every batch)."""
    if top is None:  # the newest id, unless the caller read it already
        top = AuditEvent.objects.aggregate(top=Max("pk"))["top"]
    if top is None:
        return []
    low = after if after is not None else _first_id() - 1
    rows: list[tuple] = []
    while len(rows) < limit and low < top:
        high = min(low + WINDOW, top)
        rows += _window(low, high, limit - len(rows))
        low = high
    return rows


def _window(low: int, high: int, limit: int) -> list[tuple]:
    """The first `limit` unsealed events with low < id <= high, in id order."""
    if connection.vendor == "postgresql":
        return _pg_window(low, high, limit)
    return list(_unsealed(low, high).order_by("pk").values_list(*EVENT_FIELDS)[:limit])


def _q(name: str) -> str:
    return bulk_sql.quote(name, "postgresql")


_PG_WINDOW = (  # noqa: S608 - names from model metadata, checked and quoted
    "SELECT {columns} FROM {events} AS e WHERE e.{id} > %s AND e.{id} <= %s AND NOT EXISTS "
    "(SELECT 1 FROM {seals} AS s WHERE s.{event} = e.{id} AND s.{event} > %s AND s.{event} <= %s) "
    "ORDER BY e.{id} LIMIT %s"
).format(
    columns=", ".join(f"e.{_q(AuditEvent._meta.get_field(name).column)}" for name in EVENT_FIELDS),
    events=_q(AuditEvent._meta.db_table),
    seals=_q(AuditSeal._meta.db_table),
    id=_q(AuditEvent._meta.pk.column),
    event=_q(AuditSeal._meta.get_field("event_id").column),
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
    if bulk_sql.copy_rows(AuditSeal, _SEAL_COLUMNS, seals, prepared=True) is None and (
        bulk_sql.insert(AuditSeal, _SEAL_COLUMNS, seals) is None
    ):
        AuditSeal.objects.bulk_create([AuditSeal(*seal) for seal in seals])
    head.last_sequence, head.last_hash = seals[-1][0], seals[-1][3]


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


def _seal_batch(*, include_late: bool, now: datetime, past: int | None) -> tuple[int, int | None]:
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
        rows = _unsealed_rows(after, BATCH_SIZE)
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
    newest = Subquery(AuditEvent.objects.order_by("-pk").values("pk")[:1])
    head = (
        AuditChainHead.objects.filter(pk=AuditChainHead.HEAD_ID)
        .values_list("scan_after_id", newest)
        .first()
    )
    scan_after, top = head if head is not None else (None, None)
    first = _unsealed_rows(None if include_late else scan_after, 1, top=top)
    if not first:
        return 0  # the usual case every few seconds: one read, no lock, no write
    # The first batch reads on from there (not from the scan bound again): an event below it
    # committed since is the next pass's, as for the batches after it.
    total, past = 0, first[0][0] - 1
    while True:
        try:
            sealed, past = _seal_batch(include_late=include_late, now=timezone.now(), past=past)
        except IntegrityError:
            # The sequences after the head are unique: one is taken only if a seal was
            # written around the sealer. Nothing is sealed until the chain is looked at.
            raise ChainBroken(
                "The next sequence after the chain head is already taken by a seal."
            ) from None
        total += sealed
        if sealed < BATCH_SIZE:
            return total
