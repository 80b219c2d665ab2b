"""Append-only audit events of API keys."""

from __future__ import annotations

from typing import Any

from apikeys.models import APIKey, APIKeyEvent


def event_record(
    *,
    key: APIKey | None,
    key_id: str,
    event_type: str,
    actor: Any = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> APIKeyEvent:
    user = actor if getattr(actor, "pk", None) else None
    return APIKeyEvent.objects.create(
        api_key=key,
        key_id=key_id,
        event_type=event_type,
        actor=user,
        actor_repr=str(actor)[:150] if actor is not None else "",
        ip=ip,
        details=details or {},
    )
