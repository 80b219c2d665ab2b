"""The scopes an API key can hold: `resource:action`, or `*` for everything."""

from __future__ import annotations

ALL = "*"

SCOPES: dict[str, str] = {
    "ncr:read": "Read NCRs",
    "ncr:write": "Create, change and close NCRs",
    "capa:read": "Read CAPAs",
    "capa:write": "Create, change and close CAPAs",
    "equipment:read": "Read equipment",
    "equipment:write": "Create and change equipment",
    "suppliers:read": "Read suppliers",
    "suppliers:write": "Create and change suppliers",
    "records:read": "Read synchronised records",
    "records:write": "Write synchronised records",
    "sync:read": "Read sync configurations, runs and conflicts",
    "sync:execute": "Start sync runs",
    "sync:manage": "Manage sync connections and configurations",
    "webhooks:read": "Read webhook subscriptions and deliveries",
    "webhooks:manage": "Manage webhook subscriptions",
    "audit:read": "Read the audit trail",
    ALL: "Everything the API offers to keys",
}


def grants(held: frozenset[str] | set[str], required: str) -> bool:
    return ALL in held or required in held
