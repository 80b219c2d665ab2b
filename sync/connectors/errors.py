"""Errors of external systems. What they say is freed of credentials by
`eqms_integration.redaction` (shared with webhook deliveries), re-exported here for the
connectors."""

from __future__ import annotations

from eqms_integration.redaction import (
    ANYWHERE_FROM,
    MASK,
    MESSAGE_LIMIT,
    WORD_CHARACTERS,
    basic_auth_forms,
    redact,
    remove_secrets,
    secret_forms,
    secret_text,
)

__all__ = [
    "ANYWHERE_FROM",
    "MASK",
    "MESSAGE_LIMIT",
    "WORD_CHARACTERS",
    "ConnectorError",
    "basic_auth_forms",
    "redact",
    "remove_secrets",
    "secret_forms",
    "secret_text",
]


class ConnectorError(Exception):
    """A failure talking to an external system, with a message safe to show and to log."""
