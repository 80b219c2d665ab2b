from __future__ import annotations

from collections.abc import Iterable


class ConnectorError(Exception):
    """A failure talking to an external system, with a message safe to show and to log."""


def redact(message: str, secrets: Iterable[str]) -> str:
    """Remove every secret from a driver's message; drivers sometimes echo connection strings."""
    for secret in secrets:
        if secret and len(secret) >= 3:
            message = message.replace(secret, "***")
    return " ".join(message.split())[:480]
