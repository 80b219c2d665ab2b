"""Equipment and suppliers a batch at a time, as sync brings them in: the rules of
`quality.services` (the fields' rules, a number taken once), one INSERT for the new rows and one
UPDATE per set of changed fields, and one audit event per row written, in the batch's
transaction (eqms_integration.bulk_sql for the statements, the model's rules compiled by
sync.engine.rules).

A row that breaks a rule is returned as the ValidationError `full_clean` gives it (checked by
full_clean itself, so the message is the one the services give); the others are written. Returns
None when the database has no bulk path here: the caller goes through the services instead."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from operator import attrgetter, itemgetter
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import signals
from django.db.models.base import ModelState
from django.utils import timezone

from audit import services as audit
from eqms_integration import bulk_sql
from eqms_integration.batching import chunked
from sync.engine.rules import rules_for

Change = tuple[str, Any, dict[str, Any]]  # external id, QMS row (None: create), typed values
_EMPTY = (None, "", [], {})  # what a creation's event leaves out (audit.changes)
OBJECT_TYPES = {"equipment": "equipment", "supplier": "supplier"}


def _taken_message(model: type[models.Model]) -> ValidationError:
    return ValidationError(
        {"number": f"{model._meta.verbose_name} with this number already exists."}
    )


def _refused(model: type[models.Model], data: dict[str, Any], allowed: Sequence[str]) -> Any:
    """The services' own checks of one row, for rows the compiled rules cannot vouch for:
    the ValidationError, or None when the row is valid after all."""
    obj = model()
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        return ValidationError({name: "This field cannot be changed." for name in unknown})
    for name, value in data.items():
        setattr(obj, name, value)
    try:
        obj.full_clean(validate_unique=False)
    except ValidationError as exc:
        return exc
    return None


def _object_type(model: type[models.Model]) -> str:
    return OBJECT_TYPES[model._meta.model_name]


def _values_getter(names: Sequence[str], getter: Any = attrgetter) -> Any:
    """obj -> the tuple of its values of `names`, through attrgetter or itemgetter (which
    give one name's value alone, not in a tuple)."""
    if len(names) > 1:
        return getter(*names)
    if names:
        get = getter(names[0])
        return lambda obj: (get(obj),)
    return lambda obj: ()


class MasterWriter:
    """One per configuration: the columns and rules are worked out once."""

    def __init__(self, model: type[models.Model], allowed: Sequence[str]) -> None:
        self.model, self.allowed = model, tuple(allowed)
        self.allowed_set = frozenset(allowed)
        self.rules = rules_for(model)
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        self.columns = [f.column for f in fields]
        self.names = [f.name for f in fields]
        self.values_of = _values_getter(self.names, itemgetter)  # a row's, in column order
        self.object_type = _object_type(model)
        self.audited = sorted(self.allowed)
        self.audited_of = _values_getter(self.audited)  # an instance's audited values
        # Rows written are handed back as instances without Model.__init__ (a tenth of a
        # batch's time): only where that is all __init__ would do (plain fields, no signal).
        self.plain = all(f.attname == f.name for f in fields) and not any(
            signal.has_listeners(model) for signal in (signals.pre_init, signals.post_init)
        )

    def _loaded(self, pk: int, values: dict[str, Any]) -> models.Model:
        """The row just written as an instance, as `Model.from_db` makes it."""
        if not self.plain:
            return self.model.from_db(
                "default", ["id", *self.names], [pk, *(values[name] for name in self.names)]
            )
        obj = self.model.__new__(self.model)
        # (values holds exactly the fields' names: the rules' defaults, the row's own fields,
        # which _valid checked are the model's, and the two times.)
        obj.__dict__.update(values)
        obj.__dict__[self.model._meta.pk.attname] = pk
        obj._state = state = ModelState()
        state.adding, state.db = False, "default"
        return obj

    # --- creates -------------------------------------------------------------------------
    def create(self, rows: list[dict[str, Any]]) -> list[Any] | None:
        """Each row created, or its ValidationError; None: no bulk path on this database."""
        if not bulk_sql.supported():
            return None
        now = timezone.now()
        results: list[Any] = [None] * len(rows)
        valid = self._valid(rows, now, results)
        # PostgreSQL: ids first (one for every row given: those of refused rows stay unused),
        # then a COPY of each row as it is checked (the server stores the rows sent while the
        # next are checked); numbers taken since the batch looked them up make it refuse the
        # batch, which then goes row by row.
        ids = bulk_sql.draw_ids(self.model, len(rows))
        if ids is not None:

            def stream() -> Iterator[tuple[Any, ...]]:
                for (index, values), pk in zip(valid, ids, strict=False):
                    results[index] = self._loaded(pk, values)
                    yield (pk, *self.values_of(values))

            bulk_sql.copy_rows(self.model, ["id", *self.columns], stream())
            return results
        # Elsewhere numbers taken are skipped and refused.
        full_rows = list(valid)
        written = bulk_sql.insert(
            self.model,
            self.columns,
            [[values[name] for name in self.names] for _, values in full_rows],
            conflict=["number"],
            returning=["id", "number"],
        )
        taken = {number: pk for pk, number in written or []}
        for index, values in full_rows:
            pk = taken.get(values["number"])
            if pk is None:  # another row has that number (the database said so)
                results[index] = _taken_message(self.model)
                continue
            results[index] = self._loaded(pk, values)
        return results

    def _valid(
        self, rows: list[dict[str, Any]], now: Any, results: list[Any]
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """(index, full values) of each row that may be created; a refused row's
        ValidationError goes in `results` instead."""
        pending: set[str] = set()  # numbers taken by rows before in this batch
        for index, data in enumerate(rows):
            if not (data.keys() <= self.allowed_set and self.rules.passes(data)):
                refusal = _refused(self.model, data, self.allowed)
                if refusal is not None:
                    results[index] = refusal
                    continue
            values = {**self.rules.defaults, **data, "created_at": now, "updated_at": now}
            if values["number"] in pending:  # earlier in this batch
                results[index] = _taken_message(self.model)
                continue
            pending.add(values["number"])
            yield index, values

    # --- updates -------------------------------------------------------------------------
    def update(self, pairs: list[tuple[Any, dict[str, Any]]]) -> list[Any] | None:
        """Rows that change nothing are not written; the others are written grouped by the set
        of fields they change, so no field is written that did not change."""
        if not bulk_sql.supported():
            return None
        now = timezone.now()
        results: list[Any] = []
        groups: dict[tuple[str, ...], list[Any]] = defaultdict(list)
        self.before: dict[int, dict[str, Any]] = {}
        renamed: dict[int, Any] = {}
        for obj, data in pairs:
            if not data.keys() <= self.allowed_set:
                results.append(_refused(self.model, data, self.allowed))
                continue
            before = {name: getattr(obj, name) for name in data}
            changed = sorted(name for name, value in data.items() if before[name] != value)
            if not changed:
                results.append(obj)
                continue
            for name in changed:
                setattr(obj, name, data[name])
            current = {rule.name: getattr(obj, rule.name) for rule in self.rules.fields}
            if not self.rules.passes(current):
                try:
                    obj.full_clean(validate_unique=False)
                except ValidationError as exc:
                    results.append(exc)
                    continue
            self.before[id(obj)] = {name: before[name] for name in changed}
            if "number" in changed:
                renamed[id(obj)] = obj
            results.append(obj)
        taken = self._taken([o.number for o in renamed.values()], {o.pk for o in renamed.values()})
        seen: set[str] = set()
        for index, obj in enumerate(results):
            if isinstance(obj, ValidationError) or id(obj) not in self.before:
                continue
            if id(obj) in renamed and (obj.number in taken or obj.number in seen):
                results[index] = _taken_message(self.model)
                del self.before[id(obj)]
                continue
            seen.add(obj.number)
            obj.updated_at = now
            groups[tuple(sorted(self.before[id(obj)]))].append(obj)
        for fields, objs in groups.items():
            columns = [self.model._meta.get_field(name).column for name in fields]
            bulk_sql.update(
                self.model,
                "id",
                [*columns, "updated_at"],
                [[obj.pk, *(getattr(obj, name) for name in fields), now] for obj in objs],
            )
        return results

    def _taken(self, numbers: list[str], own: set[int]) -> set[str]:
        taken: set[str] = set()
        for chunk in chunked(numbers):
            rows = self.model.objects.filter(number__in=chunk).exclude(pk__in=own)
            taken |= set(rows.values_list("number", flat=True))
        return taken

    # --- the audit trail -----------------------------------------------------------------
    def audit(self, created: list[Any], updated: list[Any], *, action: str = "updated") -> None:
        """One event per row written (creates with their values, updates old -> new)."""
        if not settings.SYNC_AUDIT_RECORDS:
            return
        # Made one at a time as the audit trail writes them (on PostgreSQL, as its COPY goes).
        audit.events_record_rows(self._events(created, updated, action))

    def _events(self, created: list[Any], updated: list[Any], action: str) -> Iterator[tuple]:
        names, audited = self.audited, self.audited_of
        for obj in created:
            # changes_between({}, values), without its second pass over each value (the
            # event's values are made JSON-safe once, when it is recorded).
            values = zip(names, audited(obj), strict=True)
            changes = {name: [None, value] for name, value in values if value not in _EMPTY}
            yield ("created", self.object_type, obj.pk, obj.number, changes, "")
        for obj in updated:
            before = self.before.get(id(obj))
            if not before:
                continue
            after = {name: getattr(obj, name) for name in before}
            changes = audit.changes_between(before, after)
            if changes:
                yield (action, self.object_type, obj.pk, obj.number, changes, "")
