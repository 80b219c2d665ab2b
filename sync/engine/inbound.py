"""The inbound half of a run: read the external side in batches (keyset order, the upper
bound fixed at the start), compare each row with its QMS record, settle the batch and save the
cursor that covers it in the same transaction. Then try again what failed in earlier runs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError

from sync import transforms
from sync.connectors import cursors
from sync.connectors.base import external_id
from sync.engine import retries
from sync.engine.links import links_by_external_id, mark_seen
from sync.engine.mapping import row_typer
from sync.engine.phases import PhaseBase, batch_transaction
from sync.engine.reconcile import Item
from sync.engine.settle import Settler, error_text
from sync.models import SyncConfiguration, SyncLink, SyncRetry

Cursor = tuple[Any, Any]


class InboundPhase(PhaseBase):
    side = SyncRetry.Side.INBOUND

    def items(self, rows: list[dict[str, Any]], settler: Settler) -> list[Item]:
        """Rows as items beside their QMS records; rows that cannot be mapped fail here."""
        key = self.config.remote_key
        typed: dict[str, tuple[dict, dict]] = {}
        typed_row = row_typer(self.config)
        for row in rows:
            ext = external_id(row, key)
            settler.counts.read()
            try:
                typed[ext] = (row, typed_row(row))
            except (transforms.TransformError, ValidationError) as exc:
                settler.fail(ext, error_text(exc))
        # A full run that began with no links for this configuration finds none by id (each
        # key is read once; the links it writes are for keys already read).
        linked = self.delta or self.linked_at_start
        links = links_by_external_id(self.config, list(typed)) if linked else {}
        local = self.store.get_many(link.local_id for link in links.values())
        unlinked = {ext: values for ext, (_, values) in typed.items() if ext not in links}
        # Nor does it find QMS rows to adopt when it began with none: the rows it writes are
        # linked, and a row someone else writes meanwhile makes the batch's insert refuse it
        # (the row then fails alone and is adopted by the next run).
        adopting = self.delta or self.linked_at_start or self.local_at_start
        adopted = self.store.adopt(unlinked) if unlinked and adopting else {}
        items = []
        for ext, (row, values) in typed.items():
            link = links.get(ext)
            obj = local.get(link.local_id) if link else adopted.get(ext)
            local_values = self.store.values_of(obj) if obj is not None else None
            items.append(
                Item(
                    ext, link=link, remote_row=row, remote=values, local_obj=obj, local=local_values
                )
            )
        return items

    def settler(self) -> Settler:
        return Settler(
            self.run, self.store, self.session, seen_run=None if self.delta else self.run.pk
        )

    def plan(self) -> int | None:
        state, session = self.state, self.session
        self.after: Cursor | None = None
        if self.delta and state.cursor_value is not None:
            self.after = (cursors.decode(state.cursor_value), cursors.decode(state.cursor_key))
        self.upper = session.upper_bound() if self.delta else None
        # A full run of a delta configuration reads every row up to the source's highest
        # cursor value now: once it has read them all, the next delta starts after the
        # newest of them instead of reading everything again (rows changing meanwhile get a
        # value past this bound, so the next delta reads them).
        self.full_upper = None
        if not self.delta and self.config.sync_type == SyncConfiguration.SyncType.DELTA:
            self.full_upper = session.upper_bound() if session.ordered else None
        self.retry_upto = retries.newest(self.config, self.side)
        self.linked_at_start = SyncLink.objects.filter(configuration=self.config).exists()
        self.local_at_start = self.delta or self.store.queryset().exists()
        # An empty source, or no row has a cursor value yet: nothing to read.
        self.nothing_to_read = self.delta and session.ordered and self.upper is None
        if self.nothing_to_read:
            return 0
        count = session.count(after=self.after, upper=self.upper)
        retrying = retries.waiting(self.config, self.side, self.retry_upto) if self.delta else 0
        return None if count is None else count + retrying

    def run_phase(self) -> bool:
        """Read the external side (after plan()); True when it was read to the end."""
        session = self.session
        if self.nothing_to_read:
            return False
        newest = self.after
        field, key = self.config.delta_field, self.config.remote_key
        for rows in session.batches(
            after=self.after if self.delta else None, upper=self.upper, size=self.config.batch_size
        ):
            fields: list[str] = []
            with batch_transaction():
                settler = self.settler()
                items = self.items(rows, settler)
                settler.settle(items)
                if not self.delta:  # every row read, failed ones too: they are not gone
                    # Links written by this batch are marked already (each link written once);
                    # rows that could not even be mapped may still have one.
                    unmarked = [
                        ext for row in rows if (ext := external_id(row, key)) not in settler.seen
                    ]
                    unmarked = [ext for ext in unmarked if ext in settler.failures]
                    if unmarked:
                        mark_seen(self.config, unmarked, self.run)
                    if self.full_upper is not None:
                        newest = _newest(newest, rows, field, key, upper=self.full_upper)
                else:
                    newest = _newest(newest, rows, field, key)
                    if session.ordered:
                        fields = self._cursor_fields(newest)
                self.commit_batch(settler, fields)
            self.after_batch()
        unordered = self.delta and not session.ordered
        once_read = unordered or self.full_upper is not None
        if once_read and not self.run.dry_run and self._cursor_fields(newest):
            # Saved only once all was read: a run stopped before leaves the cursor as it was.
            self.state.save(update_fields=["cursor_value", "cursor_key", "updated_at"])
        if self.delta:
            self._retry(self.retry_upto)
        return True

    def _cursor_fields(self, newest: Cursor | None) -> list[str]:
        if newest is None:
            return []
        self.state.cursor_value = cursors.encode(newest[0])
        self.state.cursor_key = cursors.encode(newest[1])
        return ["cursor_value", "cursor_key"]

    def _retry(self, upto: int) -> None:
        for page in retries.pages(self.config, self.side, self.config.batch_size, upto):
            with batch_transaction():
                settler = self.settler()
                rows = self.session.fetch([retry.external_id for retry in page])
                gone = [retry.pk for retry in page if retry.external_id not in rows]
                retries.forget(gone)  # nothing left to bring in
                settler.settle(self.items(list(rows.values()), settler))
                self.commit_batch(settler, [])
            self.after_batch()

    def was_read(self, row: dict[str, Any] | None) -> bool:
        """Whether this run's inbound half read (and so settled) this external row."""
        if row is None:
            return False
        if not self.delta:
            return True
        cursor, key = row.get(self.config.delta_field), row.get(self.config.remote_key)
        try:
            return cursors.in_window(cursor, key, after=self.after, upper=self.upper)
        except ValueError:
            return False


_NATIVE = (datetime, date, int)  # cursor values of one of these types order as cursors does


def _newest(
    newest: Cursor | None, rows: list[dict], field: str, key: str, *, upper: Any = None
) -> Cursor | None:
    """The greatest (cursor, key) of `newest` and the rows' (those whose cursor is set and,
    given `upper`, not above it)."""
    values = [row.get(field) for row in rows]
    kinds = {type(value) for value in values if value is not None}
    if len(kinds) == 1 and kinds <= set(_NATIVE) and (upper is None or type(upper) in kinds):
        # One type Python orders as the cursors module does: only the rows at the batch's
        # greatest value need comparing key by key (naive and aware times never mix here).
        try:
            top = max(v for v in values if v is not None and (upper is None or v <= upper))
        except ValueError:  # none in the window
            return newest
        except TypeError:
            top = None
        if top is not None:
            rows = [row for row, value in zip(rows, values, strict=True) if value == top]
    for row in rows:
        candidate = (row.get(field), row.get(key))
        if candidate[0] is None:
            continue
        if upper is not None and not _at_most(candidate[0], upper):
            continue
        try:
            if newest is None or cursors.keyset_after(*candidate, newest):
                newest = candidate
        except ValueError:  # values of no one kind from a loosely typed API: compare as text
            if newest is None or tuple(map(str, candidate)) > tuple(map(str, newest)):
                newest = candidate
    return newest


def _at_most(value: Any, upper: Any) -> bool:
    try:
        return cursors.compare(value, upper) <= 0
    except ValueError:
        return False
