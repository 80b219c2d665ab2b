"""Events of API keys, written twice in one transaction: the key's own event list
(APIKeyEvent: its REST endpoint, its admin inline) and the audit trail (object_type `api_key`,
object_id the key's pk, object_repr "name (key_id)"), where they sit beside every other
change. Neither ever holds a secret: only the key id, the preview-free fields below and
markers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apikeys.models import APIKey, APIKeyEvent
from audit import actors
from audit import services as audit

# What the trail shows of a key (never secret_hash, never the key itself).
AUDITED_FIELDS = (
    "name",
    "description",
    "key_id",
    "scopes",
    "allowed_networks",
    "expires_at",
    "rate_limit_per_minute",
    "is_active",
    "revoked_at",
    "revocation_reason",
)
ACTIONS = {
    APIKeyEvent.Type.CREATED: "created",
    APIKeyEvent.Type.UPDATED: "updated",
    APIKeyEvent.Type.REVOKED: "revoked",
    APIKeyEvent.Type.ROTATED: "secret_rotated",
    APIKeyEvent.Type.DELETED: "deleted",
    APIKeyEvent.Type.REPEATED_FAILURES: "repeated_failures",
}


def snapshot(key: APIKey) -> dict[str, Any]:
    return audit.field_values(key, AUDITED_FIELDS)


def _actor(actor: Any) -> actors.Actor | None:
    """A user passed by the admin or the API; anything else (a command's label, None) leaves
    the audit context to say who (the request's key or user, the command's OS user)."""
    if getattr(actor, "pk", None) is not None and hasattr(actor, "get_username"):
        return actors.user(actor)
    return None


def event_record(
    *,
    key: APIKey | None,
    key_id: str,
    event_type: str,
    actor: Any = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
    changes: Mapping[str, Any] | None = None,
    reason: str = "",
) -> APIKeyEvent:
    user = actor if getattr(actor, "pk", None) else None
    row = APIKeyEvent.objects.create(
        api_key=key,
        key_id=key_id,
        event_type=event_type,
        actor=user,
        actor_repr=str(actor)[:150] if actor is not None else "",
        ip=ip,
        details=details or {},
    )
    audit.event_record(
        action=ACTIONS[event_type],
        object_type="api_key",
        object_id=key.pk if key is not None and key.pk is not None else key_id,
        object_repr=f"{key.name} ({key_id})" if key is not None else key_id,
        changes=changes,
        reason=reason,
        actor=_actor(actor),
    )
    return row
