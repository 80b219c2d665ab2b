"""The rules a sync configuration must satisfy: its own fields, its mappings, and the remote
table or resource as described when a session or a check opened it. No I/O of its own: the
caller hands in the catalogue (configuration services on save, the engine at run start)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django_celery_beat.validators import crontab_validator

from eqms_integration.text import plural
from quality import registry
from sync import transforms
from sync.connectors.base import RemoteSession
from sync.connectors.errors import ConnectorError
from sync.connectors.rest.session import resource_url
from sync.connectors.sql import Column, TableCatalogue
from sync.models import SyncConfiguration

Strategy = SyncConfiguration.ConflictStrategy


def local_fields_of(entity_type: str) -> tuple[str, ...] | None:
    """The QMS fields a configuration of this entity type may map, from the entity registry;
    None for types without a QMS model (the record store takes any valid field name)."""
    entity = registry.entity_for(entity_type)
    return entity.editable_fields if entity is not None else None


RECORD_FIELD = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
Direction = SyncConfiguration.Direction


def _check_ranges(config: SyncConfiguration, errors: dict[str, str]) -> None:
    if not 1 <= config.batch_size <= 10_000:
        errors["batch_size"] = "Between 1 and 10,000 rows."
    if not 1 <= config.timeout_seconds <= 86_400:
        errors["timeout_seconds"] = "Between 1 and 86,400 seconds."
    if config.max_retries > 10:
        errors["max_retries"] = "At most 10."
    reads_remote = config.sync_direction != Direction.OUTBOUND  # outbound: the QMS's updated_at
    delta = config.sync_type == SyncConfiguration.SyncType.DELTA
    if delta and reads_remote and not config.delta_field:
        errors["delta_field"] = (
            "A delta sync that reads the external side needs a cursor column (timestamp, "
            "rowversion or id); outbound runs use the QMS's own updated_at."
        )
    if config.apply_deletions and config.sync_direction != SyncConfiguration.Direction.INBOUND:
        errors["apply_deletions"] = (
            "Deletions at the source are applied by inbound configurations only; two-way and "
            "outbound configurations report them."
        )
    if config.conflict_strategy == Strategy.NEWEST_WINS and not config.delta_field:
        errors["conflict_strategy"] = (
            "newest_wins compares change times: give a timestamp column as delta_field."
        )


def _check_schedule(config: SyncConfiguration, errors: dict[str, str]) -> None:
    kind = config.schedule_type
    if kind == SyncConfiguration.ScheduleType.INTERVAL:
        if not config.interval_minutes or not 1 <= config.interval_minutes <= 10_080:
            errors["interval_minutes"] = "An interval schedule needs 1 to 10,080 minutes."
    elif kind == SyncConfiguration.ScheduleType.CRON:
        expression = " ".join(config.cron_expression.split())
        try:
            if len(expression.split()) != 5:
                raise ValidationError("five fields")
            crontab_validator(expression)
        except (ValidationError, ValueError):
            errors["cron_expression"] = (
                f"{config.cron_expression!r} is not a cron expression of five fields "
                "(minute hour day-of-month month day-of-week), e.g. '*/15 6-18 * * 1-5'."
            )
        config.cron_expression = expression


def _check_mappings(config: SyncConfiguration, errors: dict[str, str]) -> list[str]:
    """Validate the mapping list; returns the remote names it uses."""
    mappings = config.field_mappings
    if not isinstance(mappings, list) or not mappings:
        errors["field_mappings"] = 'Give a list of {"local", "remote", "transform"?} objects.'
        return []
    allowed = local_fields_of(config.entity_type)
    problems, remote_names, seen = [], [], set()
    for index, mapping in enumerate(mappings, start=1):
        if not isinstance(mapping, dict) or not {"local", "remote"} <= set(mapping):
            problems.append(f"#{index}: needs 'local' and 'remote'")
            continue
        if set(mapping) - {"local", "remote", "transform"}:
            problems.append(f"#{index}: only 'local', 'remote' and 'transform' are allowed")
        local, remote = mapping["local"], mapping["remote"]
        if allowed is not None and local not in allowed:
            fields = ", ".join(allowed)
            problems.append(f"#{index}: {config.entity_type} has no field {local!r} ({fields})")
        elif allowed is None and not (isinstance(local, str) and RECORD_FIELD.match(local)):
            problems.append(f"#{index}: {local!r} is not a valid record field name")
        if local in seen:
            problems.append(f"#{index}: {local!r} is mapped twice")
        seen.add(local)
        if not isinstance(remote, str) or not remote:
            problems.append(f"#{index}: 'remote' must be a column or JSON field name")
        else:
            remote_names.append(remote)
        if mapping.get("transform") is not None:
            try:
                transforms.normalise(mapping["transform"])
            except ValueError as exc:
                problems.append(f"#{index}: {exc}")
    if problems:
        errors["field_mappings"] = "; ".join(problems)
    return remote_names


def configuration_warnings(config: SyncConfiguration) -> list[str]:
    """What is allowed but probably not what was meant (shown after a save)."""
    try:
        return transforms.one_way_problems(config.field_mappings, config.sync_direction)[1]
    except (ValueError, TypeError, KeyError):  # a malformed mapping is refused elsewhere
        return []


def rest_errors(config: SyncConfiguration, errors: dict[str, str]) -> None:
    """A REST resource must be a plain path: the same rule the REST session applies when it
    opens."""
    try:
        resource_url(config.connection.base_url, config.remote_object)
    except ConnectorError as exc:
        errors["remote_object"] = str(exc)


def catalogue_errors(
    config: SyncConfiguration,
    remote_names: list[str],
    catalogue: TableCatalogue,
    errors: dict[str, str],
) -> None:
    """Every remote name must exist in the table as its catalogue describes it; a table
    written to needs a unique key; newest_wins needs a time column."""
    described = catalogue.columns
    writes = config.sync_direction != SyncConfiguration.Direction.INBOUND
    columns = set(described)
    if writes and config.remote_key in columns and not catalogue.key_is_unique(config.remote_key):
        errors["remote_key"] = (
            f"Writing to {config.remote_object} needs {config.remote_key!r} to be its primary "
            "key or to have a unique constraint (and a table, not a view), so that rows are "
            "updated rather than duplicated."
        )
    cursor = described.get(config.delta_field)
    if (
        config.conflict_strategy == Strategy.NEWEST_WINS
        and cursor
        and not _temporal(cursor, catalogue.kind)
    ):
        errors["conflict_strategy"] = (
            f"newest_wins compares change times, but {config.delta_field!r} is "
            f"{cursor.data_type}, not a date/time column."
        )
    listing = ", ".join(sorted(columns))
    for field, name in (("remote_key", config.remote_key), ("delta_field", config.delta_field)):
        if name and name not in columns:
            errors[field] = f"{config.remote_object} has no column {name!r} (columns: {listing})."
    unknown = [name for name in remote_names if name not in columns]
    if unknown and "field_mappings" not in errors:
        errors["field_mappings"] = (
            f"{config.remote_object} has no {plural(len(unknown), 'column')} "
            f"{', '.join(map(repr, unknown))} "
            f"(columns: {listing})."
        )


def _temporal(column: Column, kind: str) -> bool:
    data_type = column.data_type.lower()
    if data_type in ("timestamp", "rowversion") and kind == "mssql":
        return False  # SQL Server's timestamp is a rowversion, not a time
    return "date" in data_type or "time" in data_type


def rule_errors(
    config: SyncConfiguration, *, saving: bool = False
) -> tuple[dict[str, str], list[str]]:
    """The errors by field that need no remote system, and the remote names the mappings
    use. `saving` adds the rules for new values only (a transform that does nothing on the
    way out), which a run of an older configuration does not need."""
    errors: dict[str, str] = {}
    _check_ranges(config, errors)
    _check_schedule(config, errors)
    remote_names = _check_mappings(config, errors)
    if saving and "field_mappings" not in errors and config.sync_direction == Direction.OUTBOUND:
        refused = transforms.one_way_problems(config.field_mappings, config.sync_direction)[0]
        if refused:
            errors["field_mappings"] = "; ".join(refused)
    return errors, remote_names


def session_check(config: SyncConfiguration, session: RemoteSession) -> None:
    """Raise ValidationError by field when a configuration no longer holds against the
    session it runs with, reusing what the session described when it opened."""
    errors, remote_names = rule_errors(config)
    if not errors:
        if session.catalogue is None:
            rest_errors(config, errors)
        else:
            catalogue_errors(config, remote_names, session.catalogue, errors)
    if errors:
        raise ValidationError(errors)
