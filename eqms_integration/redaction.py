"""Removing secrets from what other systems say back: drivers, APIs and webhook receivers echo
what they were sent (connection strings, Authorization headers, form bodies, custom headers), in
whatever form their own messages take, so a secret is looked for in every form a client sends
it or a message can show it. Redaction runs on the whole text, before it is cut to length: a
cut through a secret would leave a fragment no pattern recognises.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_from_bytes, quote_plus

MASK = "***"
MESSAGE_LIMIT = 480
# Shorter secrets (a 4-digit PIN) would match inside ordinary words and numbers, so they are
# removed where they stand as a whole token; longer ones wherever they appear.
ANYWHERE_FROM = 8
WORD_CHARACTERS = "A-Za-z0-9"


def secret_text(value: Any) -> str:
    """A credential as text: strings, and numbers given as JSON numbers."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return str(value)


def secret_forms(secret: str) -> set[str]:
    """Every way `secret` may show in a message: raw; URL- and form-encoded (query strings,
    OAuth2 token requests); base64 (echoed headers); as a Python str or bytes repr in UTF-8 or
    latin-1 (CR/LF and other escapes), also escaped twice; JSON-escaped."""
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}
    forms |= {
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }
    for encoding in ("utf-8", "latin-1"):
        try:
            raw = secret.encode(encoding)
        except UnicodeEncodeError:
            continue
        forms |= {repr(raw)[2:-1], quote_from_bytes(raw, safe=""), base64.b64encode(raw).decode()}
    forms |= {form.replace("\\", "\\\\") for form in forms if "\\" in form}
    return {form for form in forms if form}


def basic_auth_forms(username: str, password: str) -> list[str]:
    """The base64 pair of HTTP basic auth, as UTF-8 and as latin-1 (what `requests` sends)."""
    pair, found = f"{username}:{password}", []
    for encoding in ("utf-8", "latin-1"):
        try:
            found.append(base64.b64encode(pair.encode(encoding)).decode())
        except UnicodeEncodeError:
            continue
    return found


def _pattern(form: str) -> re.Pattern[str]:
    text = re.escape(form)
    if len(form) >= ANYWHERE_FROM:
        return re.compile(text)
    return re.compile(rf"(?<![{WORD_CHARACTERS}]){text}(?![{WORD_CHARACTERS}])")


def remove_secrets(text: str, secrets: Iterable[Any]) -> str:
    """`text` with every form of every secret replaced by MASK, otherwise unchanged."""
    forms = {
        form for secret in secrets if (value := secret_text(secret)) for form in secret_forms(value)
    }
    for form in sorted(forms, key=len, reverse=True):  # a secret holding another goes first
        text = _pattern(form).sub(MASK, text)
    return text


def redact(message: str, secrets: Iterable[Any], *, limit: int = MESSAGE_LIMIT) -> str:
    """`message` without any form of any secret, whitespace collapsed, then cut to `limit`."""
    return " ".join(remove_secrets(message, secrets).split())[:limit]
