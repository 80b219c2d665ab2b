"""How deep JSON may nest anywhere in the service: what a client sends (the API's parser) and
what a remote system answers (REST sync). Far deeper than any real document; deep enough
nesting breaks json's own recursion and every recursive walk after it (templates, encoders)."""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 64


def deeper_than(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists and objects in `value` nest more than `limit` levels. Iterative, so the
    check itself cannot overflow."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in item)
    return False
