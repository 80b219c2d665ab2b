"""The outbound half of a run: read the QMS rows changed since the last run (keyset on
(updated_at, id), the upper bound fixed at the start), leave out those still as both sides
agreed, compare the rest with their external rows where that matters, and settle them. Then
try again what failed in earlier runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from sync import transforms
from sync.engine import retries
from sync.engine.inbound import InboundPhase
from sync.engine.links import links_by_external_id, links_by_local_id
from sync.engine.mapping import row_typer
from sync.engine.phases import PhaseBase, batch_transaction
from sync.engine.reconcile import Item
from sync.engine.settle import Settler, error_text
from sync.models import SyncConfiguration, SyncLink, SyncRetry


class OutboundPhase(PhaseBase):
    side = SyncRetry.Side.OUTBOUND

    def __init__(self, *args: Any, inbound: InboundPhase | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Bidirectional runs: the inbound half of the same run, which tells whether it
        # already settled a row.
        self.inbound = inbound
        # Rows saved in the last moments may belong to transactions not yet committed; they
        # are read by the next run rather than skipped for ever.
        self.upper = timezone.now() - timedelta(seconds=settings.SYNC_LOCAL_SETTLE_SECONDS)

    def items(self, objs: list[Any], settler: Settler) -> list[Item]:
        """The QMS rows of a page that need settling, with their external rows where needed."""
        # A full run that began with no links for this configuration finds none (each QMS row
        # is read once; the links it writes are for rows already read).
        linked = self.delta or self.linked_at_start
        links = links_by_local_id(self.config, [obj.pk for obj in objs]) if linked else {}
        items = []
        for obj in objs:
            settler.counts.read()
            link = links.get(obj.pk)
            ext = link.external_id if link else self.store.external_id_of(obj)
            item = Item(
                ext, link=link, local_obj=obj, local=self.store.values_of(obj), remote_known=False
            )
            if self.delta and link is not None and item.local_hash == link.base_hash:
                self._leave(item, settler)  # as agreed (our own inbound writes included)
                continue
            items.append(item)
        new = [i.external_id for i in items if not i.link]
        taken = links_by_external_id(self.config, new) if linked else {}
        for item in [i for i in items if not i.link and i.external_id in taken]:
            settler.fail(
                item.external_id,
                "This external id is already linked to another QMS record.",
                item.local_obj.pk,
            )
            items.remove(item)
        bidirectional = self.config.sync_direction == SyncConfiguration.Direction.BIDIRECTIONAL
        if bidirectional or not self.delta:
            items = self._with_remote(items, settler)
        return items

    def _leave(self, item: Item, settler: Settler) -> None:
        settler.counts.skipped()
        settler.settled.add(item.external_id)

    def _with_remote(self, items: list[Item], settler: Settler) -> list[Item]:
        rows = self.session.fetch([item.external_id for item in items])
        kept = []
        typed_row = row_typer(self.config)
        for item in items:
            item.remote_known, item.remote_row = True, rows.get(item.external_id)
            if self.inbound is not None and self.inbound.was_read(item.remote_row):
                self._leave(item, settler)  # the inbound half of this run settled it
                continue
            if item.remote_row is not None:
                try:
                    item.remote = typed_row(item.remote_row)
                except (transforms.TransformError, ValidationError) as exc:
                    settler.fail(item.external_id, error_text(exc), item.local_obj.pk)
                    continue
                item.refresh()  # (no external row: nothing the item holds changed)
            kept.append(item)
        return kept

    def plan(self) -> int | None:
        state = self.state
        self.after = None
        if self.delta and state.local_cursor_value is not None:
            self.after = (state.local_cursor_value, state.local_cursor_key)
        self.retry_upto = retries.newest(self.config, self.side)
        # (A bidirectional run's inbound half writes links before this half reads.)
        self.linked_at_start = (
            self.config.sync_direction != SyncConfiguration.Direction.OUTBOUND
            or SyncLink.objects.filter(configuration=self.config).exists()
        )
        retrying = retries.waiting(self.config, self.side, self.retry_upto) if self.delta else 0
        changed = self.store.count_changed(self.after, self.upper)
        self.store.analyzed_for(changed)  # (else PostgreSQL may sort the window for each page)
        return changed + retrying

    def run_phase(self) -> None:
        """Write the QMS rows changed since the last run out (after plan())."""
        state = self.state
        # A one-way run never writes QMS rows: plain rows are enough (no model instances).
        one_way = self.config.sync_direction == SyncConfiguration.Direction.OUTBOUND
        pages = self.store.changed_rows if one_way else self.store.changed
        for objs in pages(self.after, self.upper, self.config.batch_size):
            with batch_transaction():
                settler = self.settler()
                settler.settle(self.items(objs, settler))
                fields: list[str] = []
                if self.delta:
                    state.local_cursor_value = objs[-1].updated_at
                    state.local_cursor_key = objs[-1].pk
                    fields = ["local_cursor_value", "local_cursor_key"]
                self.commit_batch(settler, fields)
            self.after_batch()
        if self.delta:
            self._retry(self.retry_upto)

    def _retry(self, upto: int) -> None:
        for page in retries.pages(self.config, self.side, self.config.batch_size, upto):
            with batch_transaction():
                settler = self.settler()
                objs = self.store.get_many(retry.local_id for retry in page if retry.local_id)
                gone = [retry.pk for retry in page if retry.local_id not in objs]
                retries.forget(gone)  # nothing left to write out
                settler.settle(self.items(list(objs.values()), settler))
                self.commit_batch(settler, [])
            self.after_batch()
