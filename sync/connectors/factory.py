"""The connector of a stored connection, with its secrets decrypted: every test, describe,
run, preview and resolution gets its connector here, so the target checks (SSRF guard, never
the service's own database) hold on every path."""

from __future__ import annotations

import json
from typing import Any

from eqms_integration import encryption
from sync.connectors.rest import RESTConnector
from sync.connectors.sql import SQLConnector
from sync.connectors.sql.targets import check_target, refuse_own_server
from sync.models import Connection


def password_of(connection: Connection) -> str:
    return (
        encryption.decrypt(connection.password_encrypted) if connection.password_encrypted else ""
    )


def credentials_of(connection: Connection) -> dict[str, Any]:
    if not connection.credentials_encrypted:
        return {}
    return json.loads(encryption.decrypt(connection.credentials_encrypted))


def sql_target(connection: Connection) -> str:
    """The database an SQL connection may open (a SQLite path resolved within the allowed
    directories); raises TargetRefused (a ConnectorError) naming the field otherwise."""
    return check_target(
        kind=connection.kind,
        host=connection.host,
        port=connection.port,
        database=connection.database,
        options=connection.options,
    )


def connector_for(connection: Connection) -> SQLConnector | RESTConnector:
    """The connector of a connection. Raises TargetRefused (a ConnectorError) for a refused
    target."""
    if connection.kind == Connection.Kind.REST:
        return RESTConnector(
            base_url=connection.base_url,
            auth_type=connection.auth_type,
            credentials=credentials_of(connection),
            timeout=connection.timeout_seconds,
            options=connection.options,
        )
    return SQLConnector(
        kind=connection.kind,
        host=connection.host,
        port=connection.port,
        database=sql_target(connection),
        username=connection.username,
        password=password_of(connection),
        options=connection.options,
        timeout=connection.timeout_seconds,
        alias=f"sync-connection-{connection.pk}",
        check_server=refuse_own_server,
    )
