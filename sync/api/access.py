"""What a configuration's entity takes of its reader: a sync configuration moves the records
of one QMS entity, so configuring one, or previewing the QMS rows it would send, takes the
access to those records that the entity's own endpoints ask for. Otherwise `sync:manage` +
`sync:read` would read every NCR through an outbound configuration's delta preview, and
`sync:manage` + `sync:execute` write them."""

from __future__ import annotations

from typing import Any

from eqms_integration.api.permissions import request_may
from quality import registry
from sync.models import SyncConfiguration

Direction = SyncConfiguration.Direction

# Entities the QMS has no model for live in the generic record store: (API-key resource,
# app label, model) of their records.
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
    entity = registry.entity_for(entity_type)
    if entity is None:
        resource, app_label, model = GENERIC_RECORDS
    else:  # the entity type is its API-key resource ("suppliers:read")
        meta = entity.model._meta
        resource, app_label, model = entity.entity_type, meta.app_label, meta.model_name
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
