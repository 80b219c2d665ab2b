"""The QMS side of a configuration: read, create and update its rows through the quality
services (so NCR/CAPA changes publish the same webhook events as any other change), find the
rows changed since a cursor, and retire rows the source no longer has."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections, models, transaction
from django.db.models import Q
from django.utils import timezone

from eqms_integration import bulk_sql
from eqms_integration.batching import chunked
from quality import registry
from quality.registry import Entity
from quality.services import bulk
from sync.engine import record_trail
from sync.engine.mapping import local_fields
from sync.engine.master_bulk import MasterWriter
from sync.engine.values import digest, normalised
from sync.models import SyncConfiguration, SyncRecord

LocalCursor = tuple[datetime, int]
# Windows of at least this many rows are read only once PostgreSQL's planner knows roughly how
# many rows the table holds (LocalStore.analyzed_for); below it a missing statistic costs less
# than the ANALYZE.
ANALYZE_FROM_ROWS = 10_000
Change = tuple[str, Any, dict[str, Any]]  # external id, QMS row (None: create), typed values


class LocalStore(ABC):
    """Rows of one QMS model; subclasses say how to create, update and retire them."""

    model: type[models.Model]
    retire_deletes = False  # retiring removes the row (and so its link)

    def __init__(self, config: SyncConfiguration) -> None:
        self.config = config
        self.fields = local_fields(config)

    def queryset(self) -> models.QuerySet:
        return self.model.objects.all()

    def values_of(self, obj: Any) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in self.fields}

    def where(self) -> dict[str, Any]:
        """The column values `queryset()` filters on (for the bulk look-ups)."""
        return {}

    def _having(self, field: str, values: list[Any]) -> Iterator[Any]:
        """Rows whose `field` is one of `values`: one array parameter on PostgreSQL, IN lists
        every database accepts elsewhere."""
        column = self.model._meta.get_field(field).column
        fast = bulk_sql.fetch_in(self.model, column, values, where=self.where())
        if fast is not None:
            yield from fast
            return
        for chunk in chunked(values):
            yield from self.queryset().filter(**{f"{field}__in": chunk})

    def get_many(self, pks: Iterable[int]) -> dict[int, Any]:
        return {obj.pk: obj for obj in self._having("id", list(pks))}

    def adopt(self, candidates: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """Unlinked QMS rows that already are these external ids (given with their typed
        values): matched by number, which is the external id unless `number` is mapped."""
        numbers = {values.get("number", ext): ext for ext, values in candidates.items()}
        return {numbers[obj.number]: obj for obj in self._having("number", list(numbers))}

    def external_id_of(self, obj: Any) -> str:
        return obj.number

    def row_fields(self) -> list[str]:
        """What `values_of` and `external_id_of` read of a row (see changed_rows)."""
        return list(dict.fromkeys(["number", *self.fields]))

    @abstractmethod
    def create(self, external_id: str, values: dict[str, Any]) -> Any: ...

    @abstractmethod
    def update(self, obj: Any, values: dict[str, Any]) -> Any: ...

    def retire(self, obj: Any) -> bool:
        """Apply a deletion at the source; False when this entity is never retired."""
        return False

    def is_closed(self, obj: Any) -> bool:
        """Whether `obj` is read-only for good (a closed NCR or CAPA)."""
        return False

    def apply_many(self, work: list[Change]) -> list[Any]:
        """Create (obj None) or update each; returns per change the saved object or the
        ValidationError that refused it. One savepoint per row: a refused row leaves no
        trace and the others go on."""
        results: list[Any] = []
        for external_id, obj, values in work:
            try:
                with transaction.atomic():
                    saved = (
                        self.create(external_id, values)
                        if obj is None
                        else self.update(obj, values)
                    )
            except ValidationError as exc:
                saved = exc
            results.append(saved)
        return results

    def _window(self, after: LocalCursor | None, upper: datetime) -> models.QuerySet:
        rows = self.queryset().filter(updated_at__lte=upper)
        if after is not None:
            at, pk = after
            # The redundant `>= at` bounds the index range: with the OR alone the database
            # scans the index from its start and filters every row before the cursor, which
            # makes a run's reads quadratic in its size.
            rows = rows.filter(updated_at__gte=at).filter(
                Q(updated_at__gt=at) | Q(updated_at=at, pk__gt=pk)
            )
        return rows.order_by("updated_at", "pk")

    def count_changed(self, after: LocalCursor | None, upper: datetime) -> int:
        return self._window(after, upper).count()

    def analyzed_for(self, rows: int) -> None:
        """PostgreSQL: ANALYZE the table before a run reads `rows` of it in pages, when the
        planner believes it holds fewer than half as many (never analyzed since a bulk load,
        or autovacuum off). Without statistics each page's keyset query is planned for a
        handful of rows: a bitmap scan of the whole rest of the window and a sort of all of it,
        for every page, which makes a run quadratic (200,000 rows: 65 ms a page instead of
        0.7 ms). SKIP_LOCKED: a table a vacuum holds is left as it is; a table this login
        does not own is skipped by the server with a warning."""
        if rows < ANALYZE_FROM_ROWS or connection.vendor != "postgresql":
            return
        table = bulk_sql.quote(self.model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
            (believed,) = cursor.fetchone()
            if believed < rows / 2:
                cursor.execute(f"ANALYZE (SKIP_LOCKED) {table}")

    def changed(self, after: LocalCursor | None, upper: datetime, size: int) -> Iterator[list[Any]]:
        """Rows with (updated_at, id) > after and updated_at <= upper, in that order, in pages
        (keyset: rows changing meanwhile are neither skipped nor read twice)."""
        return self._pages(lambda window: list(window[:size]), after, upper, size)

    def changed_rows(
        self, after: LocalCursor | None, upper: datetime, size: int
    ) -> Iterator[list[Any]]:
        """`changed()` as plain rows instead of model instances: objects with `pk`,
        `updated_at` and the `row_fields()`, enough for `values_of` and `external_id_of` (what
        a one-way outbound run reads of a row; it never writes QMS rows)."""
        names = ["pk", "updated_at", *(f for f in self.row_fields() if f != "updated_at")]

        def page(window: models.QuerySet) -> list[Any]:
            rows = _values_rows(window.values_list(*names)[:size])
            return [SimpleNamespace(**dict(zip(names, row, strict=True))) for row in rows]

        return self._pages(page, after, upper, size)

    def _pages(
        self,
        read: Callable[[models.QuerySet], list[Any]],
        after: LocalCursor | None,
        upper: datetime,
        size: int,
    ) -> Iterator[list[Any]]:
        """Pages of `read(window)` (at most `size` rows, each with `updated_at` and `pk`), the
        window moved past the last row of each."""
        while True:
            page = read(self._window(after, upper))
            if not page:
                return
            yield page
            after = (page[-1].updated_at, page[-1].pk)
            if len(page) < size:
                return


def _values_rows(rows: models.QuerySet) -> Iterable[Any]:
    """The rows of a `values_list` queryset. On PostgreSQL its statement runs on a cursor that
    reads timestamptz with psycopg's own loader (C) instead of the one Django registers (the
    value parsed in Python, then its zone replaced: 40 % of the time a page of 1,000 rows
    took); the same instants, aware, in the session's zone (UTC, as Django sets it). Django's
    cursor still runs it (errors, debug log, execute wrappers) and its converters still apply."""
    db = connections[rows.db]
    if db.vendor != "postgresql" or _PG_TIMESTAMPTZ_LOADER is None:
        return rows
    compiler = rows.query.get_compiler(using=rows.db)
    sql, params = compiler.as_sql()
    with db.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", _PG_TIMESTAMPTZ_LOADER)
        cursor.execute(sql, params)
        found = cursor.fetchall()
    return compiler.results_iter(results=[found], tuple_expected=True)


def _pg_timestamptz_loader() -> Any:
    try:
        import psycopg
    except ImportError:  # (psycopg2, or no PostgreSQL driver)
        return None
    oid = psycopg.postgres.types["timestamptz"].oid
    return psycopg.adapters.get_loader(oid, psycopg.pq.Format.TEXT)


_PG_TIMESTAMPTZ_LOADER = _pg_timestamptz_loader()


class MasterDataStore(LocalStore):
    """Equipment and suppliers: the external id is the number unless `number` is mapped."""

    def __init__(self, config: SyncConfiguration, entity: Entity) -> None:
        super().__init__(config)
        self.model, self._create, self._update = entity.model, entity.create, entity.update
        self.retired, self.allowed = entity.retired, entity.editable_fields
        self.writer = MasterWriter(self.model, self.allowed)

    def create(self, external_id: str, values: dict[str, Any]) -> Any:
        return self._create(**{"number": external_id, **values})

    def update(self, obj: Any, values: dict[str, Any]) -> Any:
        return self._update(obj, values)

    def apply_many(self, work: list[Change]) -> list[Any]:
        """A batch at a time: one uniqueness query and one INSERT for the new rows, one
        UPDATE per set of changed fields (rules as for one row). Should the database still
        refuse the batch (a concurrent writer), row by row instead."""
        if not bulk.bulk_supported():
            return super().apply_many(work)
        creates = [{"number": ext, **values} for ext, obj, values in work if obj is None]
        updates = [(obj, values) for _, obj, values in work if obj is not None]
        try:
            with transaction.atomic():
                written = self._write_many(creates, updates)
                if written is None:  # no bulk SQL for this database: the quality services'
                    written = (
                        bulk.create_many(self.model, self.allowed, creates),
                        bulk.update_many(self.model, self.allowed, updates),
                    )
                created, updated = (iter(results) for results in written)
        except IntegrityError:
            # The batch's values are on the objects in memory but not in the database: read
            # the rows again, or the row-by-row path would see nothing left to change.
            fresh = self.get_many(obj.pk for _, obj, _ in work if obj is not None)
            return super().apply_many(
                [(ext, obj and fresh.get(obj.pk), values) for ext, obj, values in work]
            )
        return [next(created) if obj is None else next(updated) for _, obj, _ in work]

    def _write_many(self, creates: list[dict], updates: list[tuple]) -> tuple[list, list] | None:
        """Both halves of the batch with dialect SQL, and one audit event per row written."""
        created = self.writer.create(creates)
        if created is None:
            return None
        updated = self.writer.update(updates)
        self.writer.audit(
            [obj for obj in created if not isinstance(obj, ValidationError)],
            [obj for obj in updated if not isinstance(obj, ValidationError)],
        )
        return created, updated

    def retire(self, obj: Any) -> bool:
        if all(getattr(obj, name) == value for name, value in self.retired.items()):
            return False
        if not bulk_sql.supported():
            self._update(obj, self.retired)
            return True
        # As the batch writes rows (the same rules), audited as the run's retirement.
        (result,) = self.writer.update([(obj, dict(self.retired))])
        if isinstance(result, ValidationError):
            raise result
        self.writer.audit([], [obj], action="retired")
        return True


class LifecycleStore(LocalStore):
    """NCR and CAPA: numbered by the QMS, closed only through `close`, never deleted."""

    def __init__(self, config: SyncConfiguration, entity: Entity) -> None:
        super().__init__(config)
        self.model, self._create, self._update = entity.model, entity.create, entity.update
        self._close, self.closed_status = entity.close, entity.closed_status

    def is_closed(self, obj: Any) -> bool:
        return obj is not None and bool(self.closed_status) and obj.status == self.closed_status

    def create(self, external_id: str, values: dict[str, Any]) -> Any:
        values = dict(values)
        closing = values.get("status") == "closed"
        if closing:
            values.pop("status")
        obj = self._create(**values)
        return self._close(obj, {}) if closing else obj

    def update(self, obj: Any, values: dict[str, Any]) -> Any:
        values = dict(values)
        closing = values.get("status") == "closed"
        if closing:
            values.pop("status")
        if closing and obj.status != "closed":
            # The other changes go with the close: one `*.closed` event, no `*.updated`.
            return self._close(obj, values)
        return self._update(obj, values)


class RecordStore(LocalStore):
    """Entity types without a QMS model: JSON documents keyed by (entity type, external id)."""

    model = SyncRecord
    retire_deletes = True

    def queryset(self) -> models.QuerySet:
        return SyncRecord.objects.filter(entity_type=self.config.entity_type)

    def where(self) -> dict[str, Any]:
        return {"entity_type": self.config.entity_type}

    def values_of(self, obj: Any) -> dict[str, Any]:
        return {name: obj.data.get(name) for name in self.fields}

    def row_fields(self) -> list[str]:
        return ["external_id", "data"]

    def adopt(self, candidates: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return {obj.external_id: obj for obj in self._having("external_id", list(candidates))}

    def external_id_of(self, obj: Any) -> str:
        return obj.external_id

    def _new(self, external_id: str, data: dict[str, Any]) -> SyncRecord:
        return SyncRecord(
            entity_type=self.config.entity_type,
            external_id=external_id,
            data=data,
            data_hash=digest(data),
            configuration=self.config,
        )

    def create(self, external_id: str, values: dict[str, Any]) -> Any:
        record = self._new(external_id, normalised(values))
        record.save()
        record_trail.record_many([(record, None)])
        return record

    def update(self, obj: Any, values: dict[str, Any]) -> Any:
        # Other configurations may map other fields of the same record: merge, don't replace.
        before = obj.data
        obj.data = {**obj.data, **normalised(values)}
        obj.data_hash, obj.configuration = digest(obj.data), self.config
        obj.save(update_fields=["data", "data_hash", "configuration", "updated_at"])
        record_trail.record_many([(obj, before)])
        return obj

    def retire(self, obj: Any) -> bool:
        record_trail.record_retired(obj)
        obj.delete()
        return True

    def apply_many(self, work: list[Change]) -> list[Any]:
        """One INSERT and one UPDATE per batch; row by row should the database refuse it."""
        if not bulk.bulk_supported():
            return super().apply_many(work)
        now, creates, updates, results = timezone.now(), [], [], []
        before: dict[int, dict[str, Any]] = {}
        for external_id, obj, values in work:
            if obj is None:
                obj = self._new(external_id, normalised(values))
                creates.append(obj)
            else:
                before[id(obj)] = obj.data
                obj.data = {**obj.data, **normalised(values)}
                obj.data_hash, obj.configuration, obj.updated_at = (
                    digest(obj.data),
                    self.config,
                    now,
                )
                updates.append(obj)
            results.append(obj)
        columns = ["data", "data_hash", "configuration_id", "updated_at"]
        try:
            with transaction.atomic():
                SyncRecord.objects.bulk_create(creates)
                rows = [[obj.pk, *(getattr(obj, c) for c in columns)] for obj in updates]
                if bulk_sql.update(SyncRecord, "id", columns, rows) is None:
                    SyncRecord.objects.bulk_update(
                        updates, ["data", "data_hash", "configuration", "updated_at"]
                    )
                record_trail.record_many(
                    [(obj, None) for obj in creates] + [(obj, before[id(obj)]) for obj in updates]
                )
        except IntegrityError:
            for obj in updates:  # the row-by-row path starts from what the database holds
                obj.data = before[id(obj)]
            return super().apply_many(work)
        return results


def store_for(config: SyncConfiguration) -> LocalStore:
    """The store of the configuration's entity type: the registry's QMS entity, or the record
    store for types the registry does not know."""
    entity = registry.entity_for(config.entity_type)
    if entity is None:
        return RecordStore(config)
    if entity.closable:
        return LifecycleStore(config, entity)
    return MasterDataStore(config, entity)
