"""Connections: stored with encrypted secrets, tested on demand, described for mappings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import changes_between, event_record, field_values
from eqms_integration import encryption
from eqms_integration.ssrf import SYNC, UnsafeURLError, url_check
from eqms_integration.text import counted
from sync.connectors.errors import ConnectorError
from sync.connectors.factory import connector_for, credentials_of, sql_target
from sync.connectors.rest import (
    REQUIRED_CREDENTIALS,
    credential_problems,
    missing_credentials,
    rest_options_errors,
)
from sync.connectors.sql import Column, SQLConnector
from sync.connectors.sql.targets import TargetRefused
from sync.models import Connection

SECRETS = ("password", "credentials")  # in the audit trail: that they changed, never values
FIELDS = (
    "name",
    "kind",
    "host",
    "port",
    "database",
    "username",
    "options",
    "base_url",
    "auth_type",
    "timeout_seconds",
)


@dataclass(frozen=True)
class TestResult:
    ok: bool
    message: str
    duration_ms: float


def connection_validate(connection: Connection, credentials: dict[str, Any]) -> None:
    """Rules across fields (what each kind and auth type needs), raised by field."""
    errors: dict[str, str] = {}
    if connection.kind == Connection.Kind.REST:
        if not connection.base_url:
            errors["base_url"] = "A REST connection needs a base_url."
        elif problem := _unsafe(connection.base_url):
            errors["base_url"] = problem
        missing = missing_credentials(connection.auth_type, credentials)
        if missing:
            errors["credentials"] = (
                f"auth_type {connection.auth_type!r} needs: {', '.join(missing)} "
                f"(all: {', '.join(REQUIRED_CREDENTIALS[connection.auth_type]) or 'nothing'})."
            )
        elif problems := credential_problems(connection.auth_type, credentials):
            errors["credentials"] = "; ".join(problems) + "."
        elif connection.auth_type == Connection.AuthType.OAUTH2_CLIENT_CREDENTIALS and (
            problem := _unsafe(str(credentials["token_url"]))
        ):
            errors["credentials"] = f"token_url: {problem}"
        problems = rest_options_errors(connection.options)
        if problems and isinstance(connection.options, dict):  # not a dict: said below
            errors["options"] = "; ".join(problems) + "."
    else:
        if not connection.database:
            errors["database"] = (
                "Give the file path." if connection.kind == "sqlite" else "Give the database name."
            )
        if connection.kind != Connection.Kind.SQLITE and not connection.host:
            errors["host"] = "Give the database server's host name or address."
        if not errors and connection.kind in Connection.Kind.values:
            try:
                sql_target(connection)
            except TargetRefused as exc:
                errors[exc.field] = str(exc)
    if not isinstance(connection.options, dict):
        errors["options"] = "Must be a JSON object."
    if not 1 <= connection.timeout_seconds <= 300:
        errors["timeout_seconds"] = "Between 1 and 300 seconds."
    if errors:
        raise ValidationError(errors)


def _unsafe(url: str) -> str:
    """Why the SSRF guard refuses the URL now ("" if it does not); checked again before every
    request, since addresses and allowlists change."""
    try:
        url_check(url, SYNC)
    except UnsafeURLError as exc:
        return str(exc)
    return ""


def _trail_values(connection: Connection) -> dict[str, Any]:
    """What the audit trail compares: the fields, and the secrets as stored (encrypted),
    which changes_between turns into markers (set, changed, cleared) and never stores. A
    secret sent again counts as changed: its ciphertext is new."""
    return {
        **field_values(connection, FIELDS),
        "password": connection.password_encrypted,
        "credentials": connection.credentials_encrypted,
    }


def _record(action: str, connection: Connection, changes: dict[str, Any]) -> None:
    event_record(
        action=action,
        object_type=AuditEvent.ObjectType.SYNC_CONNECTION,
        object_id=connection.pk,
        object_repr=connection.name,
        changes=changes,
    )


def _apply_secrets(connection: Connection, password: str | None, credentials: dict | None) -> None:
    if password is not None:
        connection.password_encrypted = encryption.encrypt(password) if password else ""
    if credentials is not None:
        connection.credentials_encrypted = (
            encryption.encrypt(json.dumps(credentials)) if credentials else ""
        )


@transaction.atomic
def connection_create(
    *, password: str = "", credentials: dict | None = None, **fields: Any
) -> Connection:
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValidationError({name: "Unknown field." for name in sorted(unknown)})
    connection = Connection(**fields)
    connection_validate(connection, credentials or {})
    connection.full_clean()
    _apply_secrets(connection, password, credentials or {})
    connection.save()
    _record(
        "created", connection, changes_between({}, _trail_values(connection), secret_fields=SECRETS)
    )
    return connection


@transaction.atomic
def connection_update(
    *,
    connection: Connection,
    data: dict[str, Any],
    password: str | None = None,
    credentials: dict | None = None,
) -> Connection:
    """Secrets left out (None) keep their stored values; "" / {} clears them."""
    before = _trail_values(connection)
    for name, value in data.items():
        if name not in FIELDS:
            raise ValidationError({name: "Unknown field."})
        setattr(connection, name, value)
    connection_validate(
        connection, credentials if credentials is not None else credentials_of(connection)
    )
    connection.full_clean()
    _apply_secrets(connection, password, credentials)
    connection.save()
    changes = changes_between(before, _trail_values(connection), secret_fields=SECRETS)
    if changes:
        _record("updated", connection, changes)
    return connection


@transaction.atomic
def connection_delete(*, connection: Connection) -> None:
    """Delete a connection no configuration uses; one in use is refused with the names of
    the configurations that use it (no retry can change that, only deleting them or moving
    them to another connection)."""
    connection = Connection.objects.select_for_update().get(pk=connection.pk)
    users = list(connection.configurations.order_by("name").values_list("name", flat=True))
    if users:
        listed = ", ".join(repr(name) for name in users)
        raise ValidationError(
            {
                "non_field_errors": f"{connection.name} is used by "
                f"{counted(len(users), 'configuration')} ({listed}): delete them, or move them "
                "to another connection, first."
            }
        )
    before = _trail_values(connection)
    pk = connection.pk
    connection.delete()
    connection.pk = pk
    _record("deleted", connection, changes_between(before, {}, secret_fields=SECRETS))


def connection_test(*, connection: Connection) -> TestResult:
    """Connect for real and record the outcome on the connection."""
    started = timezone.now()
    try:
        message, ok = connector_for(connection).test(), True
    except ConnectorError as exc:
        message, ok = str(exc), False
    duration = (timezone.now() - started).total_seconds() * 1000
    Connection.objects.filter(pk=connection.pk).update(
        last_tested_at=timezone.now(), last_test_ok=ok, last_test_message=message[:500]
    )
    return TestResult(ok=ok, message=message, duration_ms=round(duration, 1))


def connection_describe(*, connection: Connection, object_name: str) -> list[Column]:
    if connection.kind == Connection.Kind.REST:
        raise ValidationError({"object": "REST connections have no catalogue to describe."})
    try:
        connector = connector_for(connection)
        if not isinstance(connector, SQLConnector):  # pragma: no cover - excluded above
            raise TypeError("not an SQL connection")
        return connector.describe(object_name)
    except TargetRefused as exc:
        raise ValidationError({exc.field: str(exc)}) from None
    except ConnectorError as exc:
        raise ValidationError({"object": str(exc)}) from None
