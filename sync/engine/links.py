"""Links between external ids and QMS rows: looked up a batch at a time, written once per
batch in one statement (their new base and, in full runs, the run that saw them), and marked
seen where a full run read a row without writing its link."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from operator import attrgetter
from typing import Any

from django.db.models import signals
from django.db.models.base import ModelState
from django.utils import timezone

from eqms_integration import bulk_sql
from eqms_integration.batching import chunked
from sync.models import SyncConfiguration, SyncLink, SyncRun

BASE_FIELDS = ["local_id", "base_hash", "base_values", "synced_at"]


def _by(config: SyncConfiguration, column: str, values: list[Any]) -> list[SyncLink]:
    fast = bulk_sql.fetch_in(SyncLink, column, values, where={"configuration_id": config.pk})
    if fast is not None:
        return fast
    found: list[SyncLink] = []
    for chunk in chunked(values):
        found += SyncLink.objects.filter(configuration=config, **{f"{column}__in": chunk})
    return found


def links_by_external_id(config: SyncConfiguration, ids: list[str]) -> dict[str, SyncLink]:
    return {link.external_id: link for link in _by(config, "external_id", ids)}


def links_by_local_id(config: SyncConfiguration, pks: list[int]) -> dict[int, SyncLink]:
    return {link.local_id: link for link in _by(config, "local_id", pks)}


def new_link(configuration_id: int, external_id: str) -> SyncLink:
    """`SyncLink(configuration_id=…, external_id=…)`, unsaved, every other field at its
    default, built without `Model.__init__` (its per-field walk and init signals cost more
    than the rest of a link, and a batch makes a thousand). By id: no configuration fetched."""
    if _init_observed():  # someone listens to Model.__init__: let it run
        return SyncLink(configuration_id=configuration_id, external_id=external_id)
    link = SyncLink.__new__(SyncLink)
    link._state = ModelState()
    link.__dict__.update(_LINK_DEFAULTS)
    for field in _LINK_MADE_DEFAULTS:  # a default made per row (base_values' dict)
        link.__dict__[field.attname] = field.get_default()
    link.configuration_id, link.external_id = configuration_id, external_id
    return link


_LINK_DEFAULTS = {field.attname: field.get_default() for field in SyncLink._meta.concrete_fields}
# Defaults made per row (base_values' dict); a field without a default has NOT_PROVIDED, a
# class, which is callable too: its default is the plain value above, the same every time.
_LINK_MADE_DEFAULTS = [
    f for f in SyncLink._meta.concrete_fields if f.has_default() and callable(f.default)
]


def _init_observed() -> bool:
    """Whether a pre_init/post_init receiver would see a SyncLink (the receivers' lists are
    looked at first: has_listeners costs more than the rest of a link)."""
    if not (signals.pre_init.receivers or signals.post_init.receivers):
        return False
    return any(s.has_listeners(SyncLink) for s in (signals.pre_init, signals.post_init))


def links_write(links: Sequence[SyncLink], *, seen_run: int | None) -> None:
    """Insert or update these links (their base, and `last_seen_run` when a full run saw
    them): each written once per batch, the new ones in one statement, the others in one."""
    if not links:
        return
    now = timezone.now()
    update = [*BASE_FIELDS, *(["last_seen_run"] if seen_run is not None else [])]
    for link in links:
        if seen_run is not None:
            link.last_seen_run = seen_run
    new = [link for link in links if link.id is None]
    old = [link for link in links if link.id is not None]
    columns = ["configuration_id", "external_id", *update, "created_at"]
    values_of = attrgetter(*columns[:-1])

    def rows() -> Iterator[tuple[Any, ...]]:
        return ((*values_of(link), now) for link in new)

    # PostgreSQL: COPY, each row made as it goes. Elsewhere an INSERT that updates a link
    # written meanwhile.
    if bulk_sql.copy_rows(SyncLink, columns, rows()) is None:
        written = bulk_sql.insert(
            SyncLink,
            columns,
            list(rows()),
            conflict=["configuration_id", "external_id"],
            update=update,
        )
        if written is None:  # no bulk SQL for this database: Django's
            SyncLink.objects.bulk_create(new)
            SyncLink.objects.bulk_update(old, update)
            return
    bulk_sql.update(
        SyncLink, "id", update, [[link.pk, *(getattr(link, n) for n in update)] for link in old]
    )


def mark_seen(config: SyncConfiguration, ids: list[str], run: SyncRun) -> None:
    for chunk in chunked(ids):
        SyncLink.objects.filter(configuration=config, external_id__in=chunk).update(
            last_seen_run=run.pk
        )
