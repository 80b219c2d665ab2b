"""Settling one batch of records: decide each, apply QMS changes through the services, write
the external changes in one upsert, store conflicts, and move every link's base to the values
both sides now agree on. Runs inside the batch's local transaction."""

from __future__ import annotations

import contextlib
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from sync import transforms
from sync.connectors.base import RemoteSession, WriteFailure
from sync.engine import conflicts
from sync.engine.counts import RunCounts
from sync.engine.links import links_write, new_link
from sync.engine.local import LocalStore
from sync.engine.mapping import row_unmapper
from sync.engine.reconcile import Action, Item, Settlement, decide, decide_conflict
from sync.models import SyncConfiguration, SyncLink, SyncRowError, SyncRun


def error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        return "; ".join(exc.messages)
    return str(exc)


def _pk(obj: Any) -> int | None:
    return obj.pk if obj is not None else None


class _Refused(Exception):
    """The external side refused rows: the optimistic links are rolled back."""


def _creates(pushes: list[tuple[Item, dict[str, Any]]]) -> list[bool]:
    """Per push, whether it creates the external row: none was there, or (the external side
    not read) the record had no link yet."""
    return [item.remote is None if item.remote_known else item.link is None for item, _ in pushes]


def _link_state(link: SyncLink | None) -> dict[str, Any]:
    """What `_save_links` may change of a link in memory (to undo it)."""
    names = ["local_id", "base_hash", "base_values", "synced_at", "last_seen_run"]
    return {name: link.__dict__.get(name) for name in names} if link is not None else {}


class Settler:
    def __init__(
        self,
        run: SyncRun,
        store: LocalStore,
        session: RemoteSession | None,
        *,
        seen_run: int | None = None,
    ) -> None:
        self.run, self.store, self.session = run, store, session
        # A full inbound run: the links it writes say it saw them (deletion detection).
        self.seen_run = seen_run
        self.seen: set[str] = set()  # external ids whose link this batch marked seen
        self.config: SyncConfiguration = run.configuration
        self.errors: list[SyncRowError] = []
        self.failures: dict[str, tuple[int | None, str]] = {}  # external id -> (local id, why)
        self.settled: set[str] = set()
        self.final: set[str] = set()  # failed for good: not kept for a retry
        self.counts = RunCounts(run)

    def fail(
        self, external_id: str, message: str, local_id: int | None = None, *, retry: bool = True
    ) -> None:
        """A row that failed; `retry` False: it can never succeed (a closed record), so it
        is not tried again by later runs."""
        self.counts.failed()
        self.errors.append(SyncRowError(run=self.run, external_id=external_id, message=message))
        self.failures[external_id] = (local_id, message)
        if not retry:
            self.final.add(external_id)

    def settle(self, items: list[Item]) -> None:
        run, config = self.run, self.config
        pending = conflicts.pending_for(config, [item.external_id for item in items])
        agreed: list[tuple[Item, dict[str, Any]]] = []
        local: list[Item] = []
        pushes: list[tuple[Item, dict[str, Any]]] = []
        decided: list[tuple[Item, Settlement, Any]] = []
        unmap = row_unmapper(config)
        for item in items:
            action = decide(config.sync_direction, item)
            waiting = pending.get(item.external_id)
            if action is None:
                self.counts.conflicted()
                settlement = decide_conflict(config.conflict_strategy, item, config.delta_field)
                action = settlement.action
                if settlement.record == "logged":
                    decided.append((item, settlement, waiting))
                elif settlement.record:
                    conflicts.record(run, item, settlement, waiting)
                elif waiting is not None:
                    conflicts.supersede(waiting, run, f"Settled by {config.conflict_strategy}.")
            elif waiting is not None:
                conflicts.supersede(waiting, run, "Both sides are back in step.")
            if action in (Action.NONE, Action.HOLD):
                self.counts.skipped()
                if (
                    action == Action.NONE
                    and item.remote_norm is not None
                    and (item.remote_norm == item.local_norm)
                ):
                    agreed.append((item, item.remote_norm))
            elif action in (Action.CREATE_LOCAL, Action.UPDATE_LOCAL):
                local.append(item)
            else:
                try:
                    pushes.append((item, unmap(item.external_id, item.local or {})))
                except transforms.TransformError as exc:
                    self.fail(item.external_id, str(exc), _pk(item.local_obj))
        agreed += self._apply_local(local)
        started = getattr(self.session, "upsert_started", None)
        if pushes and not decided and started is not None and not self.run.dry_run:
            self._push_beside_links(started, pushes, agreed, items)
        else:
            agreed += self._push(pushes)
            self._record_decisions(decided)
            self._save_links(agreed, items)
        self.settled |= {item.external_id for item in items} - set(self.failures)

    def _push_beside_links(
        self,
        started: Any,
        pushes: list[tuple[Item, dict[str, Any]]],
        agreed: list[tuple[Item, dict[str, Any]]],
        items: list[Item],
    ) -> None:
        """`_push` then `_save_links`, overlapped: the external write runs on a thread of its
        own while the links are written, in a savepoint, as if every row went through. Should
        the external side refuse rows, the savepoint is rolled back and the links written
        again without them. The batch's transaction still commits after both."""
        before = [(item, item.link, _link_state(item.link)) for item in items]
        seen, new = set(self.seen), _creates(pushes)
        finished = started([row for _, row in pushes])
        failures: list[WriteFailure] = []
        try:
            with transaction.atomic():
                optimistic = [(item, item.local_norm or {}) for item, _ in pushes]
                self._save_links(agreed + optimistic, items)
                failures = finished()
                if failures:
                    raise _Refused
        except _Refused:
            for item, link, state in before:  # as they were before the links were written
                item.link = link
                if link is not None:
                    link.__dict__.update(state)
            self.seen = seen
        except BaseException:
            with contextlib.suppress(Exception):
                finished()  # wait for the external write; the links' error is the one raised
            raise
        agreed += self._pushed(pushes, failures, new)
        if failures:
            self._save_links(agreed, items)

    def _record_decisions(self, decided: list[tuple[Item, Settlement, Any]]) -> None:
        """A `log` decision is stored once its write is done; a write that failed leaves the
        conflict pending for a person, with the reason, instead of a decision never applied."""
        for item, settlement, waiting in decided:
            failure = self.failures.get(item.external_id)
            if failure is not None:
                note = f"Strategy '{self.config.conflict_strategy}' could not apply the source: "
                settlement = Settlement(Action.HOLD, "pending", note=note + failure[1])
            conflicts.record(self.run, item, settlement, waiting)

    def _apply_local(self, items: list[Item]) -> list[tuple[Item, dict[str, Any]]]:
        if not items:  # (outbound batches: no savepoint, no writer)
            return []
        work = [(item.external_id, item.local_obj, item.remote or {}) for item in items]
        done = []
        for item, outcome in zip(items, self.store.apply_many(work), strict=True):
            if isinstance(outcome, ValidationError):
                final = self.store.is_closed(item.local_obj)  # read-only for good
                self.fail(
                    item.external_id, error_text(outcome), _pk(item.local_obj), retry=not final
                )
                continue
            self.counts.written(new=item.local_obj is None)
            item.local_obj = outcome
            done.append((item, item.remote_norm or {}))
        return done

    def _push(self, pushes: list[tuple[Item, dict[str, Any]]]) -> list[tuple[Item, dict]]:
        if not pushes:
            return []
        failures: list[WriteFailure] = []
        if not self.run.dry_run and self.session is not None:
            failures = self.session.upsert([row for _, row in pushes])
        return self._pushed(pushes, failures)

    def _pushed(
        self,
        pushes: list[tuple[Item, dict[str, Any]]],
        failures: list[WriteFailure],
        new: list[bool] | None = None,
    ) -> list[tuple[Item, dict]]:
        """Count the rows written out, fail those refused; the written ones with the values
        both sides now agree on. `new`: per push, whether it created the external row (as
        `_creates` said before any link of the batch was written)."""
        refused = {failure.external_id: failure.message for failure in failures}
        done = []
        for (item, _), created in zip(pushes, new or _creates(pushes), strict=True):
            if item.external_id in refused:
                self.fail(item.external_id, refused[item.external_id], _pk(item.local_obj))
                continue
            self.counts.written(new=created)
            done.append((item, item.local_norm or {}))
        return done

    def _save_links(self, agreed: list[tuple[Item, dict[str, Any]]], items: list[Item]) -> None:
        """Every link of the batch that changed (a new base), and in a full inbound run every
        link of a row read (the run saw it), in one statement: each written once."""
        now = timezone.now()
        written: dict[str, SyncLink] = {}
        for item, values in agreed:
            if item.local_obj is None:
                continue
            base_hash = item.hash_of(values)
            link = item.link or written.get(item.external_id)
            if link is None:
                link = new_link(self.config.pk, item.external_id)
            elif (link.base_hash, link.local_id) == (base_hash, item.local_obj.pk):
                if self.seen_run is not None:
                    written[item.external_id] = link
                continue
            link.local_id, link.base_hash, link.base_values = item.local_obj.pk, base_hash, values
            link.synced_at = now
            item.link = link
            written[item.external_id] = link
        if self.seen_run is not None:  # held, conflicting or failed rows were read too
            for item in items:
                if item.link is not None and item.link.pk is not None:
                    written.setdefault(item.external_id, item.link)
        links_write(list(written.values()), seen_run=self.seen_run)
        self.seen |= set(written) if self.seen_run is not None else set()
