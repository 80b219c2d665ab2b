"""JSON text written fast: `encoder.encode` with its C encoder made once.

`json.dumps` and `JSONEncoder.encode` make a new C encoder for every call, most of the time
they take for a row's few values. `fast_encode(encoder)` makes it once and gives the same text
(without the check for circular references: the values written here are plain data read or
typed by the service, never circular)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def fast_encode(encoder: json.JSONEncoder) -> Callable[[Any], str]:
    """`encoder.encode`, the same text, its C encoder made once (dicts and lists; any other
    value, and any encoder the C one cannot stand for, through `encoder.encode` itself)."""
    make = json.encoder.c_make_encoder
    if make is None or encoder.indent is not None:
        return encoder.encode
    strings = (
        json.encoder.encode_basestring_ascii
        if encoder.ensure_ascii
        else (json.encoder.encode_basestring)
    )
    fast = make(
        None,
        encoder.default,
        strings,
        None,
        encoder.key_separator,
        encoder.item_separator,
        encoder.sort_keys,
        encoder.skipkeys,
        encoder.allow_nan,
    )

    def encode(value: Any) -> str:
        if type(value) is dict or type(value) is list:
            return "".join(fast(value, 0))
        return encoder.encode(value)

    return encode
