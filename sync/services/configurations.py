"""Sync configurations, checked against the real remote schema before they are saved."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from audit.models import AuditEvent
from audit.services import changes_between, event_record, field_values
from sync.configuration_checks import catalogue_errors, rest_errors, rule_errors
from sync.connectors.errors import ConnectorError
from sync.connectors.factory import connector_for
from sync.connectors.sql import SQLConnector, split_object_name
from sync.connectors.sql.targets import TargetRefused
from sync.models import Connection, SyncConfiguration
from sync.services.schedules import schedule_delete, schedule_save

Strategy = SyncConfiguration.ConflictStrategy
FIELDS = tuple(
    f.name
    for f in SyncConfiguration._meta.concrete_fields
    if f.name not in ("id", "created_at", "updated_at")
)
Direction = SyncConfiguration.Direction
# What the remote catalogue is checked against. A save that changes none of these (a rename,
# a description, a schedule, disabling) must work while the remote system is down.
REMOTE_FIELDS = (
    "connection_id",
    "remote_object",
    "remote_key",
    "delta_field",
    "field_mappings",
    "sync_direction",
    "entity_type",
)


def remote_snapshot(config: SyncConfiguration) -> dict[str, Any]:
    """The values of a configuration that the remote check depends on (see remote_changed)."""
    return {name: getattr(config, name) for name in (*REMOTE_FIELDS, "conflict_strategy")}


def remote_changed(config: SyncConfiguration, before: dict[str, Any] | None) -> bool:
    """Whether saving `config` needs the remote catalogue: new, a field it depends on changed,
    or newest_wins newly chosen (it needs the cursor column's type)."""
    if before is None:
        return True
    now = remote_snapshot(config)
    if any(now[name] != before[name] for name in REMOTE_FIELDS):
        return True
    newly_newest = now["conflict_strategy"] != before["conflict_strategy"]
    return newly_newest and config.conflict_strategy == Strategy.NEWEST_WINS


def _canonical(data: dict[str, Any]) -> dict[str, Any]:
    """system_type in lower case: "ERP", "Other", … were its values once and stay accepted."""
    value = data.get("system_type")
    if isinstance(value, str) and value.lower() in SyncConfiguration.SystemType.values:
        return {**data, "system_type": value.lower()}
    return data


def _remote_errors(
    config: SyncConfiguration, remote_names: list[str], errors: dict[str, str]
) -> None:
    """Every remote name must exist in the real schema (SQL, one connection that describes
    the table once) or be a plain path (REST)."""
    if config.connection.kind == Connection.Kind.REST:
        rest_errors(config, errors)
        return
    try:
        split_object_name(config.remote_object)
        connector = connector_for(config.connection)
        if not isinstance(connector, SQLConnector):  # pragma: no cover - kinds are exclusive
            raise TypeError("not an SQL connection")
        with connector.inspect(config.remote_object) as catalogue:
            catalogue_errors(config, remote_names, catalogue, errors)
    except TargetRefused as exc:
        errors["connection"] = str(exc)
    except ConnectorError as exc:
        errors["remote_object"] = str(exc)


def configuration_validate(
    config: SyncConfiguration, *, check_remote: bool = True, saving: bool = False
) -> None:
    """Raise ValidationError by field. The remote schema is consulted last, once the rest is
    sound, because it costs a connection. `saving` adds the rules for new values only (a
    transform that does nothing on the way out), which a run of an older one does not need."""
    errors, remote_names = rule_errors(config, saving=saving)
    if not errors and check_remote:
        _remote_errors(config, remote_names, errors)
    if errors:
        raise ValidationError(errors)


def _record(action: str, config: SyncConfiguration, changes: dict[str, Any]) -> None:
    event_record(
        action=action,
        object_type=AuditEvent.ObjectType.SYNC_CONFIGURATION,
        object_id=config.pk,
        object_repr=config.name,
        changes=changes,
    )


def _update_action(changes: dict[str, Any], config: SyncConfiguration) -> str:
    """A change of `enabled` alone is recorded as what it is: enabled or disabled."""
    if set(changes) == {"enabled"}:
        return "enabled" if config.enabled else "disabled"
    return "updated"


@transaction.atomic
def configuration_create(**data: Any) -> SyncConfiguration:
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise ValidationError({name: "Unknown field." for name in sorted(unknown)})
    config = SyncConfiguration(**_canonical(data))
    config.full_clean()
    configuration_validate(config, saving=True)
    config.save()
    _record("created", config, changes_between({}, field_values(config, FIELDS)))
    schedule_save(config)
    return config


@transaction.atomic
def configuration_update(*, config: SyncConfiguration, data: dict[str, Any]) -> SyncConfiguration:
    """Apply the changes; the remote catalogue is consulted only when a field that depends
    on it changed, so a configuration can be renamed or paused while its remote is down."""
    before, values = remote_snapshot(config), field_values(config, FIELDS)
    for name, value in _canonical(data).items():
        if name not in FIELDS:
            raise ValidationError({name: "Unknown field."})
        setattr(config, name, value)
    config.full_clean()
    configuration_validate(config, check_remote=remote_changed(config, before), saving=True)
    config.save()
    changes = changes_between(values, field_values(config, FIELDS))
    if changes:
        _record(_update_action(changes, config), config, changes)
    schedule_save(config)
    return config


@transaction.atomic
def configuration_set_enabled(*, config: SyncConfiguration, enabled: bool) -> SyncConfiguration:
    was = config.enabled
    config.enabled = enabled
    config.save(update_fields=["enabled", "updated_at"])
    if was != enabled:
        _record("enabled" if enabled else "disabled", config, {"enabled": [was, enabled]})
    schedule_save(config)
    return config


@transaction.atomic
def configuration_delete(*, config: SyncConfiguration) -> None:
    schedule_delete(config)
    values, pk = field_values(config, FIELDS), config.pk
    config.delete()
    config.pk = pk
    _record("deleted", config, changes_between(values, {}))
