"""Who may read an event's payload: the REST API (deliveries, subscriptions) and the admin
(the delivery page) ask the same question."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eqms_integration.api.permissions import request_may

# An NCR or CAPA event's payload carries the record as the API shows it: reading it takes what
# reading the record takes, on top of reading deliveries (webhooks:read alone must not do).
# So do the operational events about what other APIs guard: a sync run's error, a conflict's
# record key and fields (sync:read); an API key's name, key_id and expiry (people who may view
# API keys: no scope lets a key read keys). scope None: no API key may.
PAYLOAD_ACCESS = {
    "ncr": {"permission": "quality.view_ncr", "scope": "ncr:read"},
    "capa": {"permission": "quality.view_capa", "scope": "capa:read"},
    "sync": {"permission": "sync.view_syncrun", "scope": "sync:read"},
    "apikey": {"permission": "apikeys.view_apikey", "scope": None},
}
NO_KEY = "a person's permission (no API key may)"


def payload_readable(request: Any, event_type: str) -> bool:
    needs = PAYLOAD_ACCESS.get(event_type.split(".", 1)[0])
    return needs is None or request_may(request, **needs)


def subscription_refusal(request: Any, events: Iterable[str]) -> str:
    """Why `request` may not aim these events at a URL (a new subscription, or a change of its
    URL or events), or "" when it may. Subscribing sends the records to the URL: it takes
    what reading them takes, as reading a delivery's payload does (otherwise managing
    webhooks would read every NCR through a receiver of one's own). The REST API and the
    admin's form give this message."""
    refused = sorted({event for event in events if not payload_readable(request, event)})
    if not refused:
        return ""
    needs = sorted({PAYLOAD_ACCESS[event.split(".", 1)[0]]["scope"] or NO_KEY for event in refused})
    return (
        f"{', '.join(refused)} carry what only their readers may see: subscribing to them "
        f"takes {' and '.join(needs)} (an API key) or the permission to view those records "
        "(a user)."
    )
