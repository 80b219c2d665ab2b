"""What changed, as an audit event stores it: `{field: [old, new]}` of JSON-safe values.

Pure helpers (no I/O). The pattern in a service:

    before = field_values(ncr, NCR_EDITABLE_FIELDS)      # before touching the instance
    ...apply the change, save...
    changes = changes_between(before, field_values(ncr, NCR_EDITABLE_FIELDS))
    if changes:
        event_record(action="updated", ..., changes=changes)

For a creation, `changes_between({}, field_values(obj, fields))` gives `[None, value]` for
every field that has a value. Secret fields (a webhook secret, a connection's password or
credentials) are never stored: name them in `secret_fields` and the event says only that they
were set, changed or cleared (SECRET_SET, SECRET_CHANGED, SECRET_OLD, None).
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import re
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from enum import Enum
from typing import Any

from django.db import models

from eqms_integration.logconfig import MASK, SECRET_PATTERNS

# Markers that stand for a secret's value (never the value itself).
SECRET_OLD = "[secret]"  # noqa: S105
SECRET_CHANGED = "[changed]"  # noqa: S105
SECRET_SET = "[set]"  # noqa: S105

# The token shapes of logconfig (API keys, webhook secrets: the patterns without a capture
# group). Its header shapes are left out: they would mask ordinary prose ("authorization:
# pending") and so falsify the record of a legitimate change.
TOKEN_PATTERNS: tuple[re.Pattern[str], ...] = tuple(p for p in SECRET_PATTERNS if not p.groups)


def redact_tokens(text: str) -> str:
    """Masks anything shaped like one of our secrets, as a last guard: an event cannot be
    deleted, so a secret that reached one could never be removed."""
    for pattern in TOKEN_PATTERNS:
        text = pattern.sub(MASK, text)
    return text


def json_safe(value: Any) -> Any:
    """A value JSON can hold without loss: dates and times ISO 8601, decimals and UUIDs as
    text (no digit lost), bytes as hex, model instances as their primary key, and every
    string cleared of secret-shaped tokens."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)  # JSON has no NaN or Infinity
    if isinstance(value, Enum):
        return json_safe(value.value)
    if isinstance(value, str):
        return redact_tokens(str(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, models.Model):
        return json_safe(value.pk)
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [json_safe(item) for item in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    return redact_tokens(str(value))


def field_values(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """A snapshot of the named fields of `obj`: Python values as they are (compared by
    changes_between, made JSON-safe only there). A foreign key gives its id under the field's
    name; mutable values (JSON fields) are copied, so changing the instance afterwards does
    not change the snapshot."""
    snapshot = {}
    for name in fields:
        field = obj._meta.get_field(name)
        value = getattr(obj, field.attname)
        snapshot[name] = copy.deepcopy(value) if isinstance(value, dict | list) else value
    return snapshot


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | bytes | dict | list) and not value)


def _secret_pair(old: Any, new: Any) -> list[str | None]:
    if _is_empty(new):
        return [SECRET_OLD, None]
    if _is_empty(old):
        return [None, SECRET_SET]
    return [SECRET_OLD, SECRET_CHANGED]


def changes_between(
    before: Mapping[str, Any], after: Mapping[str, Any], *, secret_fields: Iterable[str] = ()
) -> dict[str, list[Any]]:
    """`{field: [old, new]}` for the fields whose values differ, sorted by name; empty when
    nothing changed. A field missing on one side counts as None, and is left out when the
    other side is empty too (a creation does not list its blank fields)."""
    secret = set(secret_fields)
    changes: dict[str, list[Any]] = {}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if (name not in before and _is_empty(new)) or (name not in after and _is_empty(old)):
            continue
        if name in secret:
            changes[name] = _secret_pair(old, new)
        else:
            changes[name] = [json_safe(old), json_safe(new)]
    return changes
