"""What an operational event carries as its `data`: the object it is about (type, id, name),
the reason, a link to the object's admin page, when it happened, and a few facts of its kind.
A contract with receivers like the NCR/CAPA payloads (quality.payloads): versioned, described
by a JSON Schema, built here from the recorded alert (whose reason is already redacted).

Pure: reads the attributes of the objects given, nothing else.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

VERSION = 1


def _datetime(value: dt.datetime) -> str:
    text = (timezone.localtime(value) if timezone.is_aware(value) else value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _object(properties: dict[str, Any], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


def _named(kind: str, description: str) -> dict[str, Any]:
    return _object(
        {
            "type": {"const": kind},
            "id": {"type": "integer"},
            "name": {"type": "string", "description": "How people name it."},
        }
    ) | {"description": description}


_REF = _object({"id": {"type": "integer"}, "name": {"type": "string"}})


def _schema(kind: str, about: str, facts: dict[str, Any]) -> dict[str, Any]:
    return _object(
        {
            "object": _named(kind, about),
            "reason": {"type": "string", "description": "What happened, for people."},
            "link": {"type": "string", "format": "uri", "description": "Its admin page."},
            "occurred_at": {"type": "string", "format": "date-time"},
            **facts,
        }
    )


SCHEMAS: dict[str, dict[str, Any]] = {
    "webhook.subscription.disabled": _schema(
        "webhook_subscription", "The subscription that was disabled.", {}
    ),
    "webhook.delivery.exhausted": _schema(
        "webhook_delivery",
        "The delivery that gave up.",
        {
            "subscription": _REF,
            "event_type": {"type": "string", "description": "The event it carried."},
            "message_id": {"type": "string", "description": "Its webhook-id."},
            "attempts": {"type": "integer", "description": "Attempts made in this round."},
            "last_status_code": {"type": ["integer", "null"]},
        },
    ),
    "sync.run.failed": _schema(
        "sync_run",
        "The run that failed, after its last retry.",
        {
            "configuration": _REF,
            "status": {"enum": ["failed", "timeout"]},
            "attempt": {"type": "integer"},
            "max_attempts": {"type": "integer"},
        },
    ),
    "sync.conflict.pending": _schema(
        "sync_conflict",
        "The conflict waiting for a resolution.",
        {
            "configuration": _REF,
            "external_id": {"type": "string", "description": "The record's key in the source."},
            "fields": {"type": "array", "items": {"type": "string"}},
        },
    ),
    "apikey.expiring": _schema(
        "api_key",
        "The key about to expire.",
        {
            "key_id": {"type": "string", "description": "The key's public id (never the key)."},
            "expires_at": {"type": "string", "format": "date-time"},
        },
    ),
}

DESCRIPTIONS = {
    "webhook.subscription.disabled": "The service disabled a subscription: its receiver "
    "answered 410 Gone, or failed too often or too long. Once per disabling; never sent to "
    "the subscription disabled.",
    "webhook.delivery.exhausted": "A delivery failed its last allowed attempt. Once per "
    "round of retries; never sent to the subscription whose delivery failed, and never about "
    "a delivery of an operational event (so two failing receivers cannot feed each other).",
    "sync.run.failed": "A sync run failed or timed out and no retry follows (a run retried "
    "three times is one event, when it gives up).",
    "sync.conflict.pending": "A record changed on both sides since the last sync and waits "
    "for a person (a later run refreshing the same conflict sends nothing new).",
    "apikey.expiring": "An API key expires within APIKEY_EXPIRY_WARNING_DAYS. Once per key "
    "and expiry date.",
}


def _common(kind: str, obj: Any, name: str, alert: Any) -> dict[str, Any]:
    return {
        "object": {"type": kind, "id": obj.pk, "name": name},
        "reason": alert.reason,
        "link": alert.link,
        "occurred_at": _datetime(alert.created_at),
    }


def subscription_disabled(subscription: Any, alert: Any) -> dict[str, Any]:
    return _common("webhook_subscription", subscription, subscription.name, alert)


def delivery_exhausted(delivery: Any, alert: Any, last_status_code: int | None) -> dict[str, Any]:
    subscription = delivery.subscription
    return {
        **_common("webhook_delivery", delivery, alert.subject, alert),
        "subscription": {"id": subscription.pk, "name": subscription.name},
        "event_type": delivery.event.event_type,
        "message_id": delivery.event.message_id,
        "attempts": delivery.attempt_count - delivery.attempts_before_recovery,
        "last_status_code": last_status_code,
    }


def sync_run_failed(run: Any, alert: Any) -> dict[str, Any]:
    config = run.configuration
    return {
        **_common("sync_run", run, alert.subject, alert),
        "configuration": {"id": config.pk, "name": config.name},
        "status": run.status,
        "attempt": run.attempt,
        "max_attempts": config.max_retries + 1,
    }


def conflict_pending(conflict: Any, alert: Any) -> dict[str, Any]:
    config = conflict.configuration
    return {
        **_common("sync_conflict", conflict, alert.subject, alert),
        "configuration": {"id": config.pk, "name": config.name},
        "external_id": str(conflict.external_id),
        "fields": [str(field) for field in conflict.fields],
    }


def apikey_expiring(key: Any, alert: Any) -> dict[str, Any]:
    return {
        **_common("api_key", key, key.name, alert),
        "key_id": key.key_id,
        "expires_at": _datetime(key.expires_at),
    }


_AT = "2026-11-21T03:12:09.481220Z"
_LINK = "https://eqms.example.com/admin/"
EXAMPLES: dict[str, dict[str, Any]] = {
    "webhook.subscription.disabled": {
        "object": {"type": "webhook_subscription", "id": 3, "name": "ERP quality inbox"},
        "reason": "The receiver answered 410 Gone on 2026-11-21 03:12 UTC.",
        "link": f"{_LINK}webhooks/webhooksubscription/3/change/",
        "occurred_at": _AT,
    },
    "webhook.delivery.exhausted": {
        "object": {
            "type": "webhook_delivery",
            "id": 981,
            "name": "ncr.created to ERP quality inbox (delivery 981)",
        },
        "reason": "Gave up after 6 attempts: The receiver answered 503.",
        "link": f"{_LINK}webhooks/webhookdelivery/981/change/",
        "occurred_at": _AT,
        "subscription": {"id": 3, "name": "ERP quality inbox"},
        "event_type": "ncr.created",
        "message_id": "msg_2f1c9a7e0b5d4c3a8e6f1b2d3c4a5e6f",
        "attempts": 6,
        "last_status_code": 503,
    },
    "sync.run.failed": {
        "object": {"type": "sync_run", "id": 512, "name": "ERP equipment, run 512"},
        "reason": "Failed on attempt 4 of 4; no retry left. The source table is missing.",
        "link": f"{_LINK}sync/syncrun/512/change/",
        "occurred_at": _AT,
        "configuration": {"id": 2, "name": "ERP equipment"},
        "status": "failed",
        "attempt": 4,
        "max_attempts": 4,
    },
    "sync.conflict.pending": {
        "object": {"type": "sync_conflict", "id": 77, "name": "ERP equipment, record EQ-00017"},
        "reason": "Changed on both sides since the last sync (name); resolve it in the admin "
        "or with POST /api/sync/conflicts/77/resolve/.",
        "link": f"{_LINK}sync/syncconflict/77/change/",
        "occurred_at": _AT,
        "configuration": {"id": 2, "name": "ERP equipment"},
        "external_id": "EQ-00017",
        "fields": ["name"],
    },
    "apikey.expiring": {
        "object": {"type": "api_key", "id": 12, "name": "MES line 3"},
        "reason": "The API key MES line 3 (eqms_a1b2c3d4e5f6_…) expires on 2026-12-01 00:00 "
        "UTC, in 10 days. Rotate it and give the new key to its system before then, "
        "or extend its expiry.",
        "link": f"{_LINK}apikeys/apikey/12/change/",
        "occurred_at": _AT,
        "key_id": "a1b2c3d4e5f6",
        "expires_at": "2026-12-01T00:00:00Z",
    },
}
