"""What the OpenAPI schema tells integrators about the webhook endpoints (applied to the
viewsets in views.py)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema

from eqms_integration.api.schema import ErrorSerializer, documented
from webhooks import catalogue
from webhooks.api import serializers
from webhooks.models import WebhookDelivery

SUBSCRIPTION = {
    "id": 3,
    "name": "ERP quality inbox",
    "url": "https://erp.example.com/hooks/eqms",
    "events": ["ncr.created", "ncr.closed"],
    "is_active": True,
    "retry_enabled": True,
    "max_retries": 5,
    "retry_delay_seconds": 60,
    "custom_headers": {"X-Plant": "********"},
    "consecutive_failures": 0,
    "failing_since": None,
    "disabled_reason": "",
    "disabled_at": None,
    "secret_rotation_ends_at": None,
    "created_at": "2026-11-02T08:00:00Z",
    "updated_at": "2026-11-02T08:00:00Z",
}
EXAMPLE_SECRET = "whsec_RVhBTVBMRSBub3QgYSBzZWNyZXQgRVhBTVBMRQ=="  # noqa: S105 - an example
ATTEMPT = {
    "delivery_id": 981,
    "succeeded": True,
    "status_code": 200,
    "duration_ms": 84,
    "error": "",
}


def _answer(name: str, value: object, status: str = "200") -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, status_codes=[status])


subscription_docs = documented(
    "Webhooks",
    list=extend_schema(
        summary="List webhook subscriptions",
        description="Subscriptions by name. Filter by `is_active`; `search` looks in `name` "
        "and `url`; `ordering` takes `name`, `created_at`, `updated_at`, "
        "`consecutive_failures`. Secrets never appear; custom header values show as "
        "`********`.",
    ),
    retrieve=extend_schema(
        summary="Read a webhook subscription",
        description="One subscription, with its failure state (`consecutive_failures`, "
        "`failing_since`, `disabled_reason`) and rotation state.",
        examples=[_answer("Active", SUBSCRIPTION)],
    ),
    create=extend_schema(
        summary="Subscribe a URL to NCR, CAPA or operational events",
        description="Creates a subscription and its signing secret, returned **only in this "
        "answer** (`secret`, `whsec_…`): store it to verify `webhook-signature` (Standard "
        "Webhooks) or `X-Webhook-Signature`. The URL is checked by the SSRF guard (http(s) "
        "only, no private, loopback or link-local address unless the operator allows it). "
        "Custom headers cannot override the signature headers.",
        responses={201: serializers.SubscriptionCreatedSerializer},
        examples=[
            OpenApiExample(
                "ERP inbox",
                request_only=True,
                value={
                    "name": "ERP quality inbox",
                    "url": "https://erp.example.com/hooks/eqms",
                    "events": ["ncr.created", "ncr.closed"],
                    "max_retries": 5,
                    "custom_headers": {"X-Plant": "Hall 7"},
                },
            ),
            _answer("Created, with its secret", {**SUBSCRIPTION, "secret": EXAMPLE_SECRET}, "201"),
            OpenApiExample(
                "URL refused",
                response_only=True,
                status_codes=["400"],
                value={
                    "code": "validation_error",
                    "message": "The request has invalid fields.",
                    "errors": {
                        "url": [
                            "The host erp.example.com resolves to 10.0.0.5, which is blocked by "
                            "the rule 'private': webhooks go only to public addresses. An "
                            "operator can allow an on-premise receiver with the setting "
                            "WEBHOOK_ALLOWED_NETWORKS (e.g. 10.0.0.5/32) or "
                            "WEBHOOK_ALLOWED_HOSTS (e.g. erp.example.com)."
                        ]
                    },
                },
            ),
        ],
    ),
    update=extend_schema(
        summary="Replace a webhook subscription",
        description="Replaces the editable fields. Send `********` as a custom header value "
        "to keep the stored value. Re-enabling (`is_active`) clears the failure state.",
    ),
    partial_update=extend_schema(
        summary="Change a webhook subscription",
        description='Changes the fields sent, e.g. `{"is_active": true}` to re-enable a '
        "subscription disabled after failures.",
    ),
    destroy=extend_schema(
        summary="Delete a webhook subscription",
        description="Deletes the subscription and its deliveries; nothing more is sent to it. "
        "The audit trail keeps the deletion and, for each delivery deleted with it, which "
        "event it carried and how it ended.",
    ),
    regenerate_secret=extend_schema(
        summary="Rotate the signing secret",
        description="Issues a new secret, returned **only in this answer**. During "
        "`grace_period_seconds` (default 86400, 0 = none, at most 30 days) deliveries are "
        "signed with both secrets (`webhook-signature` carries two signatures, new first; "
        "`X-Webhook-Signature-Previous` the old hex one), so receivers can switch without "
        "losing events.",
        request=serializers.RegenerateSecretSerializer,
        responses=serializers.NewSecretSerializer,
        examples=[
            OpenApiExample(
                "A day of overlap", request_only=True, value={"grace_period_seconds": 86400}
            ),
            _answer(
                "New secret",
                {"secret": EXAMPLE_SECRET, "previous_secret_valid_until": "2026-11-21T10:00:00Z"},
            ),
        ],
    ),
    test=extend_schema(
        summary="Send a test event now",
        description="Sends a signed `webhook.test` event to the URL at once (one attempt, "
        "no retries) and answers what happened: a receiver that fails is a result "
        "(`succeeded: false`, with `status_code` and `error`), not an error of this call. "
        "Rate-limited per user or key (`WEBHOOK_TEST_RATE`, 429 + Retry-After).",
        request=None,
        responses=serializers.AttemptResultSerializer,
        examples=[
            _answer("Received", ATTEMPT),
            _answer(
                "Receiver down",
                {
                    **ATTEMPT,
                    "succeeded": False,
                    "status_code": None,
                    "duration_ms": 3,
                    "error": "Connection error: refused",
                },
            ),
        ],
    ),
    deliveries=extend_schema(
        summary="List a subscription's deliveries",
        description="Its deliveries, newest first, optionally by `status`. Payloads are on "
        "the delivery itself.",
        operation_id="webhooks_subscription_deliveries",
        parameters=[OpenApiParameter("status", enum=WebhookDelivery.Status.values)],
        responses=serializers.DeliverySerializer(many=True),
    ),
    statistics=extend_schema(
        summary="Delivery statistics",
        description="Counts by status, success rate and attempt latency (p50/p95) over the "
        "last `days` (1 to 90, default 7), the current run of failures and the age of the "
        "oldest delivery still waiting.",
        parameters=[OpenApiParameter("days", int, description="1 to 90; default 7")],
        responses=serializers.StatisticsSerializer,
        examples=[
            _answer(
                "A good week",
                {
                    "days": 7,
                    "total": 120,
                    "by_status": {"pending": 1, "delivering": 0, "succeeded": 117, "failed": 2},
                    "success_rate": 0.9832,
                    "attempts": 125,
                    "latency_ms_p50": 84,
                    "latency_ms_p95": 410,
                    "consecutive_failures": 0,
                    "circuit": {
                        "state": "closed",
                        "opened_at": None,
                        "next_probe_at": None,
                        "failed_attempts_in_row": 0,
                    },
                    "oldest_pending_age_seconds": 35,
                },
            )
        ],
    ),
    recover=extend_schema(
        summary="Re-send failed deliveries of a time window",
        description="After an outage of the receiver: every failed delivery created in "
        "[`since`, `until`) is sent again with a fresh retry budget. Answers 202 with how "
        "many; a disabled subscription is a 400 (enable it first).",
        request=serializers.RecoverSerializer,
        responses={202: serializers.RequeuedSerializer, 400: ErrorSerializer},
        examples=[
            OpenApiExample(
                "Last night",
                request_only=True,
                value={"since": "2026-11-20T18:00:00Z", "until": "2026-11-21T06:00:00Z"},
            ),
            _answer("Requeued", {"requeued": 14}, "202"),
        ],
    ),
)

delivery_docs = documented(
    "Webhook deliveries",
    list=extend_schema(
        summary="List deliveries",
        description="Every delivery (one per event and subscription), newest first. Filter "
        "by `status`, `subscription` (an id) and `event__event_type`; `ordering` takes "
        "`created_at`, `next_attempt_at`, `attempt_count`.",
    ),
    retrieve=extend_schema(
        summary="Read a delivery with its payload and attempts",
        description="The delivery, the exact body sent (`payload`) and every attempt with the "
        "receiver's answer. The payload of an NCR or CAPA event is that record: it is shown "
        "only to readers who may read it too (API keys: `ncr:read` / `capa:read`; users: the "
        "view permission); otherwise `payload` and each `response_body` are null and "
        "`payload_redacted` is true.",
    ),
    retry=extend_schema(
        summary="Attempt a delivery again now",
        description="One immediate attempt of this delivery, whatever its status: a failed "
        "delivery that fails again stays failed, a pending one keeps its schedule. Answers "
        "the attempt and the delivery's status afterwards.",
        request=None,
        responses=serializers.DeliveryRetryResultSerializer,
        examples=[
            _answer(
                "Delivered",
                {**ATTEMPT, "delivery_status": "succeeded", "at": "2026-11-21T09:12:44Z"},
            )
        ],
    ),
)


def _catalogue_example() -> dict:
    spec = catalogue.event_type("ncr.created")
    return {
        "name": spec.name,
        "label": spec.label,
        "description": spec.description,
        "version": spec.version,
        "schema": spec.schema,
        "example": spec.example,
    }


event_type_docs = documented(
    "Webhooks",
    list=extend_schema(
        summary="List the event types a subscription can choose",
        description="The event catalogue: every value a subscription's `events` may hold, with "
        "what it means, the version of its payload and the JSON Schema of the whole body a "
        "receiver gets (`id`, `event`, `timestamp`, `data`), and an example body. NCR and CAPA "
        "events carry the record; the operational events (`webhook.subscription.disabled`, "
        "`webhook.delivery.exhausted`, `sync.run.failed`, `sync.conflict.pending`, "
        "`apikey.expiring`) name the object, the reason and a link to its admin page.",
        operation_id="webhooks_event_types_list",
        examples=[_answer("ncr.created", _catalogue_example())],
    ),
)
