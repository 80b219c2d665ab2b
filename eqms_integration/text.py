"""Small helpers for the sentences the service says to people."""

from __future__ import annotations


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """The noun for `count` of it: "key" for 1, "keys" otherwise (or `plural_form`)."""
    return singular if count == 1 else (plural_form or f"{singular}s")


def counted(count: int, singular: str, plural_form: str | None = None) -> str:
    """ "1 key", "3 keys", "0 keys"."""
    return f"{count} {plural(count, singular, plural_form)}"


def sentence(text: str) -> str:
    """`text` ending in exactly one full stop (a message that may end in one already)."""
    return text.rstrip().rstrip(".") + "."
