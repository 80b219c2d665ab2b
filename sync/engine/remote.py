"""The external side of a configuration as one session, whatever the connection kind."""

from __future__ import annotations

from contextlib import AbstractContextManager

from sync.connectors.base import RemoteSession, RemoteSpec
from sync.connectors.factory import connector_for
from sync.engine.mapping import remote_columns
from sync.models import SyncConfiguration


def spec_of(config: SyncConfiguration) -> RemoteSpec:
    return RemoteSpec(
        object_name=config.remote_object,
        key=config.remote_key,
        cursor_field=config.delta_field or None,
        columns=remote_columns(config),
    )


def remote_session(config: SyncConfiguration) -> AbstractContextManager[RemoteSession]:
    """Open the external side of a configuration; ConnectorError when it cannot be reached."""
    return connector_for(config.connection).session(spec_of(config))
