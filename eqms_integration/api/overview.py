"""The introduction and the tag descriptions of the OpenAPI schema: plain text for
integrators, read by the settings (so nothing here imports Django or DRF)."""

from __future__ import annotations

API_DESCRIPTION = """\
REST API of the E-QMS Integration Layer for external systems (ERP, MES, WMS, CRM, PLM) and
administrators. `GET /api/` lists the resources.

**Authentication.** Machines send an API key, `X-API-Key: eqms_<key_id>_<secret><checksum>`
(or `Authorization: Bearer <key>`); each operation names the scope it needs (deny by default,
`*` allows everything but key management). People use the session of the admin login: the
`sessionid` cookie, and on writes the `csrftoken` cookie's value in `X-CSRFToken`. Missing or
bad credentials are 401, a missing scope or permission 403.

**JSON.** snake_case fields; date-times ISO 8601 (answers in UTC); writes are JSON bodies
(`Content-Type: application/json`, at most 2.5 MB, nested at most 64 levels, no NUL
characters). Trailing slashes are optional.

**Lists** are pages: `{"count", "next", "previous", "results"}`, 50 rows by default,
`page_size` up to 500, `page=last`. `ordering` takes the fields each list names (`-` for
descending); `search` looks in the fields it names.

**Errors** all have one shape, `{"code", "message", "errors"}` (see the `Error` schema):
`errors` maps each wrong field or query parameter to a list of messages (or of nested error
objects). Each operation lists the status codes it can answer.

**Rate limits.** A key with a rate limit gets 429 with `Retry-After` beyond it.
"""

API_TAGS = [
    {"name": "Index", "description": "What the API offers."},
    {
        "name": "NCRs",
        "description": "Nonconformance reports. Numbered by the server; closed "
        "only through close; each change is published to webhook subscribers.",
    },
    {"name": "CAPAs", "description": "Corrective and preventive actions, optionally for an NCR."},
    {"name": "Equipment", "description": "Equipment master data, keyed by your `number`."},
    {"name": "Suppliers", "description": "Supplier master data, keyed by your `number`."},
    {
        "name": "Webhooks",
        "description": "Subscriptions of URLs to `ncr.*` and `capa.*` events "
        "and operational events (see the event catalogue), signed per Standard Webhooks, "
        "retried with backoff.",
    },
    {
        "name": "Webhook deliveries",
        "description": "Each event sent to a subscription, with its attempts.",
    },
    {
        "name": "Sync connections",
        "description": "External SQL databases and REST APIs and how to log in to them.",
    },
    {
        "name": "Sync configurations",
        "description": "What moves between a connection and the "
        "QMS, which way and when; run, preview and inspect them.",
    },
    {"name": "Sync runs", "description": "The runs of configurations: status, counts, errors."},
    {
        "name": "Sync conflicts",
        "description": "Records changed on both sides since the last "
        "two-way sync, waiting for (or settled by) a decision.",
    },
    {
        "name": "Records",
        "description": "Synced entities the QMS keeps without a model of its "
        "own (orders, inventory, …).",
    },
    {
        "name": "API keys",
        "description": "Keys of machine clients: issue, scope, rotate, "
        "revoke, audit. People with the Admin role, session only.",
    },
    {
        "name": "Audit trail",
        "description": "Every change to QMS records and integration "
        "settings: who, through which channel, old and new values, why; append-only and "
        "hash-chained. Read only (Admin, Manager, Auditor; keys with `audit:read`).",
    },
]
