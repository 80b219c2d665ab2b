"""What the databases cannot store, wherever a value comes from: a client's request (the API's
parser) or a remote system's row (sync). PostgreSQL text and jsonb refuse NUL; UTF-8 cannot
encode a lone surrogate (JSON's "\\ud800"); jsonb has no infinity (1e400 reads as inf)."""

from __future__ import annotations

import math
import re
from typing import Any

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_text(text: str) -> str | None:
    """What in `text` cannot be stored, as a phrase; None when all of it can."""
    found = UNSTORABLE.search(text)
    if found is None:
        return None
    char = found.group()
    what = "a NUL character" if char == "\x00" else "an unpaired surrogate"
    return f"{what} (U+{ord(char):04X})"


def unstorable(value: Any) -> str | None:
    """What in `value` (text, a number, or JSON of lists and objects, keys included) cannot be
    stored, as a phrase; None when all of it can. Iterative: deep values cannot overflow it."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if problem := unstorable_text(item):
                return problem
        elif isinstance(item, float) and not math.isfinite(item):
            return "a number out of range (infinite or not a number)"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return None
