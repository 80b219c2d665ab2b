"""What a configuration's entity takes of its reader: a sync configuration moves the records
of one QMS entity, so configuring one, or previewing the QMS rows it would send, takes the
access to those records that the entity's own endpoints ask for. Otherwise `sync:manage` +
`sync:read` would read every NCR through an outbound configuration's delta preview, and
`sync:manage` + `sync:execute` write them."""

from __future__ import annotations

from typing import Any

from eqms_integration.api.permissions import request_may
from sync.models import SyncConfiguration

Direction = SyncConfiguration.Direction

# entity_type -> (API-key resource, app label, model) of the records it moves; entities the
# QMS has no model for live in the generic record store.
ENTITY_RECORDS: dict[str, tuple[str, str, str]] = {
    "ncr": ("ncr", "quality", "ncr"),
    "capa": ("capa", "quality", "capa"),
    "equipment": ("equipment", "quality", "equipment"),
    "suppliers": ("suppliers", "quality", "supplier"),
}
GENERIC_RECORDS = ("records", "sync", "syncrecord")
# Outbound reads QMS records, inbound writes them, two-way does both.
ACCESS_OF_DIRECTION = {
    Direction.INBOUND: ("write",),
    Direction.OUTBOUND: ("read",),
    Direction.BIDIRECTIONAL: ("read", "write"),
}


def entity_access(request: Any, entity_type: str, access: str) -> tuple[bool, str]:
    """Whether the request may `access` ("read" or "write") the entity's records, and the
    scope an API key needs for it."""
    resource, app_label, model = ENTITY_RECORDS.get(entity_type, GENERIC_RECORDS)
    scope = f"{resource}:{access}"
    permission = f"{app_label}.{'view' if access == 'read' else 'change'}_{model}"
    return request_may(request, permission=permission, scope=scope), scope


def missing_access(request: Any, entity_type: str, direction: str) -> list[str]:
    """The scopes (named as a key needs them) the request lacks to configure a sync of
    `entity_type` in `direction`; empty when it may."""
    missing = []
    for access in ACCESS_OF_DIRECTION.get(direction, ("read", "write")):
        allowed, scope = entity_access(request, entity_type, access)
        if not allowed:
            missing.append(scope)
    return missing


def readable_entities(request: Any) -> list[str]:
    """The entity types whose records the request may read: conflicts show both sides'
    values of a record, so they are listed to its readers only."""
    return [
        entity
        for entity in SyncConfiguration.EntityType.values
        if entity_access(request, entity, "read")[0]
    ]
