"""What the OpenAPI schema tells integrators about key management (applied to the viewsets
in views.py)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema

from apikeys.api import serializers
from eqms_integration.api.schema import ErrorSerializer, documented

KEY = {
    "name": "ERP production",
    "description": "SAP PI, plant 1000",
    "scopes": ["ncr:read", "ncr:write", "capa:read"],
    "allowed_networks": ["10.20.0.0/16"],
    "expires_at": "2027-06-30T00:00:00Z",
    "rate_limit_per_minute": 600,
    "id": 12,
    "key_id": "k7Qm2xYt9pLw",
    "key_preview": "eqms_k7Qm2xYt9pLw_…",
    "state": "active",
    "is_active": True,
    "revoked_at": None,
    "revoked_by": None,
    "revocation_reason": "",
    "rotated_from": None,
    "last_used_at": "2026-11-20T07:59:58Z",
    "last_used_ip": "10.20.4.17",
    "usage_count": 48211,
    "created_by": "qa.admin",
    "created_at": "2026-06-30T09:00:00Z",
    "updated_at": "2026-06-30T09:00:00Z",
}
FULL_KEY = "eqms_k7Qm2xYt9pLw_EXAMPLEnotAkeyEXAMPLEnotAkeyEXAMPLEnotAkey0000"


def _answer(name: str, value: object, status: str = "200") -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, status_codes=[status])


key_docs = documented(
    "API keys",
    list=extend_schema(
        summary="List API keys",
        description="Every key with its state and usage, never its secret. Filter by "
        "`is_active`; `search` looks in `name`, `description`, `key_id`; `ordering` takes "
        "`created_at`, `name`, `last_used_at`, `expires_at`.",
    ),
    retrieve=extend_schema(
        summary="Read an API key",
        description="One key: scopes, networks, expiry, rate limit, usage.",
        examples=[_answer("In use", KEY)],
    ),
    create=extend_schema(
        summary="Issue an API key",
        description="Creates a key and answers it **once** as `key` (only its bcrypt hash is "
        "stored). Keys are managed by people in a session (cookie + `X-CSRFToken` header); a "
        "key cannot manage keys. `scopes` (at least one) decide what it may do, deny by default: "
        "`<resource>:read|write` for `ncr`, `capa`, `equipment`, `suppliers`, `records`; "
        "`sync:read|execute|manage`, `webhooks:read|manage`, or `*`. `allowed_networks` "
        "(IPv4/IPv6 addresses or CIDRs) limits where it may be used from, `expires_at` when, "
        "`rate_limit_per_minute` how often (429 beyond).",
        responses={201: serializers.IssuedAPIKeySerializer},
        examples=[
            OpenApiExample(
                "For the ERP",
                request_only=True,
                value={
                    "name": "ERP production",
                    "description": "SAP PI, plant 1000",
                    "scopes": ["ncr:read", "ncr:write", "capa:read"],
                    "allowed_networks": ["10.20.0.0/16"],
                    "expires_at": "2027-06-30T00:00:00Z",
                    "rate_limit_per_minute": 600,
                },
            ),
            _answer(
                "Issued: store `key` now",
                {
                    "key": FULL_KEY,
                    **KEY,
                    "usage_count": 0,
                    "last_used_at": None,
                    "last_used_ip": None,
                },
                "201",
            ),
        ],
    ),
    update=extend_schema(
        summary="Replace an API key's settings",
        description="Replaces name, description, scopes, networks, expiry and rate limit. "
        "The change holds from the key's next request in every process (cached "
        "verifications are dropped).",
    ),
    partial_update=extend_schema(
        summary="Change an API key's settings",
        description="Changes the settings sent; holds from the key's next request.",
    ),
    destroy=extend_schema(
        summary="Delete an API key",
        description="Deletes the key: its next request is refused (401). Its audit events "
        "stay (see the API key events).",
    ),
    revoke=extend_schema(
        summary="Revoke an API key",
        description="Revokes the key with a required `reason`, recorded in its audit trail. "
        "Its next request is refused (401), in every process. A key revoked already is a "
        "400.",
        request=serializers.RevokeSerializer,
        responses={200: serializers.APIKeySerializer, 400: ErrorSerializer},
        examples=[
            OpenApiExample(
                "Leaked", request_only=True, value={"reason": "Pasted into a support ticket"}
            ),
            _answer(
                "Revoked",
                {
                    **KEY,
                    "state": "revoked",
                    "is_active": False,
                    "revoked_at": "2026-11-21T10:15:00Z",
                    "revoked_by": "qa.admin",
                    "revocation_reason": "Pasted into a support ticket",
                },
            ),
        ],
    ),
    rotate=extend_schema(
        summary="Rotate an API key",
        description="Issues a successor with the same settings and answers it **once** as "
        "`key`; the old key keeps working for `grace_period_seconds` (default 86400, at most "
        "30 days; 0 revokes it now), so clients can switch without downtime. The successor's "
        "`rotated_from` names the old key_id. A revoked or expired key cannot be rotated "
        "(400).",
        request=serializers.RotateSerializer,
        responses={201: serializers.IssuedAPIKeySerializer, 400: ErrorSerializer},
        examples=[
            OpenApiExample(
                "An hour of overlap", request_only=True, value={"grace_period_seconds": 3600}
            ),
            _answer(
                "Successor: store `key` now",
                {
                    "key": FULL_KEY.replace("k7Qm2xYt9pLw", "Zr4Tn8Vb2Qx1"),
                    **KEY,
                    "id": 13,
                    "key_id": "Zr4Tn8Vb2Qx1",
                    "key_preview": "eqms_Zr4Tn8Vb2Qx1_…",
                    "rotated_from": "k7Qm2xYt9pLw",
                    "usage_count": 0,
                    "last_used_at": None,
                    "last_used_ip": None,
                },
                "201",
            ),
        ],
    ),
    events=extend_schema(
        summary="A key's audit trail",
        description="What happened to this key, newest first: created, updated, revoked, "
        "rotated, repeated failures; with who, from where and the details. Append-only.",
        responses=serializers.APIKeyEventSerializer(many=True),
    ),
)

event_docs = documented(
    "API keys",
    list=extend_schema(
        summary="The audit trail of every key",
        description="Events of all keys, deleted ones included, newest first. Filter by "
        "`key_id` and `event_type`. Append-only.",
    ),
)
