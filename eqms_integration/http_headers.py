"""HTTP headers both outbound clients share (webhook deliveries and REST sync): the rules for
names and values they may send, and the Retry-After they read."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# A field name is a token (RFC 9110 5.1).
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
# Sent by the HTTP client itself or about the connection: never taken from configuration.
CONNECTION_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "proxy-authorization",
        "proxy-connection",
    }
)


def header_name_problem(name: object) -> str | None:
    """Why `name` cannot be sent as a header name, or None."""
    if not isinstance(name, str) or not HEADER_NAME.match(name):
        return f"{name!r} is not a valid header name (letters, digits and !#$%&'*+.^_`|~- only)."
    if name.lower() in CONNECTION_HEADERS:
        return f"{name} is set by the HTTP client and cannot be configured."
    return None


def header_value_problem(value: str, *, spaces_matter: bool = True) -> str | None:
    """Why HTTP cannot send `value` as a header value, or None: headers travel as latin-1,
    and a control character (CR and LF above all, which would end the header) has no place
    in one; leading or trailing spaces would be stripped on the way (`spaces_matter=False`
    for a part that is encoded first, such as a basic-auth password)."""
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return "holds characters HTTP headers cannot carry (only latin-1 text)"
    if any(unicodedata.category(character) == "Cc" for character in value):
        return "holds a control character (line break, tab, NUL, …), which HTTP cannot send"
    if spaces_matter and value != value.strip(" "):
        return "starts or ends with a space, which HTTP would strip"
    return None


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date, which is GMT even
    when written without a zone); None if absent or unreadable. A past date is 0."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
