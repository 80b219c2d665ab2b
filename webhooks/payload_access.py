"""Who may read an event's payload: the REST API (deliveries, subscriptions) and the admin
(the delivery page) ask the same question."""

from __future__ import annotations

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
