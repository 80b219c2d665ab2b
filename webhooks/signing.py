"""Standard Webhooks signatures (https://www.standardwebhooks.com) plus the seed system's
hex body signature, and the reserved headers a subscription's custom headers cannot override."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
USER_AGENT = "E-QMS-Webhook/1.0"

# Compared lower-case. Custom headers may not set these: receivers rely on them to verify.
RESERVED_HEADERS = frozenset(
    {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "x-webhook-signature",
        "x-webhook-signature-previous",
        "x-webhook-event",
        "x-webhook-delivery-attempt",
        "user-agent",
        "content-type",
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "host",
        "connection",
    }
)


def secret_generate() -> str:
    """A new `whsec_<base64>` secret with 256 bits of entropy."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _secret_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def standard_signature(*, secret: str, message_id: str, timestamp: int, body: str) -> str:
    """`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed by the decoded secret."""
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(_secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def body_signature(*, secret: str, body: str) -> str:
    """Hex HMAC-SHA256 of the body keyed by the secret string, as the seed receivers expect."""
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


def signed_headers(
    *,
    secrets_in_use: list[str],
    message_id: str,
    timestamp: int,
    body: str,
    event_type: str,
    attempt: int,
    custom_headers: dict[str, str],
) -> dict[str, str]:
    """Every header of one delivery attempt. The first secret is the current one; a second one
    (a rotation's previous secret, during its grace) adds a signature to `webhook-signature`,
    space-separated, and signs the body in `X-Webhook-Signature-Previous`, so receivers of
    either signature format keep verifying until they switch to the new secret."""
    headers = {
        name: value
        for name, value in custom_headers.items()
        if name.lower() not in RESERVED_HEADERS  # validated on save; enforced here too
    }
    headers.update(
        {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(
                standard_signature(
                    secret=secret, message_id=message_id, timestamp=timestamp, body=body
                )
                for secret in secrets_in_use
            ),
            "X-Webhook-Signature": body_signature(secret=secrets_in_use[0], body=body),
            "X-Webhook-Event": event_type,
            "X-Webhook-Delivery-Attempt": str(attempt),
        }
    )
    if len(secrets_in_use) > 1:
        headers["X-Webhook-Signature-Previous"] = body_signature(
            secret=secrets_in_use[1], body=body
        )
    return headers
