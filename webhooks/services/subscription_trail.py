"""How subscription changes read in the audit trail: which fields are compared, and custom
header values compared but recorded only as a secret marker (they often carry credentials).
The subscription services call these inside their transactions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from audit import services as audit
from webhooks.models import WebhookSubscription

OBJECT_TYPE = "webhook_subscription"
AUDITED_FIELDS = (
    "name",
    "url",
    "events",
    "is_active",
    "retry_enabled",
    "max_retries",
    "retry_delay_seconds",
    "disabled_reason",
)
HEADER_VALUES = "custom_header_values"  # only "set" / "changed", never a value


def snapshot(subscription: WebhookSubscription, headers: Mapping[str, str]) -> dict[str, Any]:
    """The settings, the names of the custom headers, and their values (`headers`, clear)."""
    values = audit.field_values(subscription, AUDITED_FIELDS)
    values["custom_headers"] = sorted(headers)
    values[HEADER_VALUES] = dict(headers)
    return values


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    return audit.changes_between(before, after, secret_fields=(HEADER_VALUES,))


def record(
    action: str, *, object_id: int, name: str, changes: dict[str, Any], reason: str = ""
) -> None:
    audit.event_record(
        action=action,
        object_type=OBJECT_TYPE,
        object_id=object_id,
        object_repr=name,
        changes=changes,
        reason=reason,
    )
