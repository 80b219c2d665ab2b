"""The API's JSON parser: DRF's, refusing with a 400 what the rest of the stack cannot hold."""

from __future__ import annotations

import math
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

from eqms_integration.json_depth import MAX_DEPTH  # field mappings with transforms are 5 levels
from eqms_integration.storable import UNSTORABLE

NON_FIELD_KEY = "non_field_errors"


def _refuse(text: str, where: str, field: str | None) -> None:
    found = UNSTORABLE.search(text)
    if found is None:
        return
    char = found.group()
    what = "NUL characters" if char == "\x00" else "Unpaired surrogates"
    message = f"{what} (U+{ord(char):04X}) are not accepted (at {where})."
    raise ValidationError({field or NON_FIELD_KEY: [message]})


def check_parsed(data: Any) -> None:
    """Refuses `data` nested deeper than MAX_DEPTH (a parse error) or holding a key, string or
    number that cannot be stored (a validation error of the top-level field it is in, saying
    where; PostgreSQL's jsonb has no infinity). Iterative, so the check cannot overflow."""
    stack: list[tuple[Any, int, str, str | None]] = [(data, 1, "$", None)]
    while stack:
        value, depth, where, field = stack.pop()
        if isinstance(value, str):
            _refuse(value, where, field)
        elif isinstance(value, float) and not math.isfinite(value):  # 1e400 reads as inf
            message = f"Numbers must be finite; this one is too large (at {where})."
            raise ValidationError({field or NON_FIELD_KEY: [message]})
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels is not accepted.")
            if isinstance(value, list):
                stack.extend(
                    (item, depth + 1, f"{where}[{n}]", field) for n, item in enumerate(value)
                )
                continue
            for key, item in value.items():
                _refuse(key, f"a key of {where}", field)
                stack.append((item, depth + 1, f"{where}.{key}", field or key))


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(
                f"JSON nested deeper than {MAX_DEPTH} levels is not accepted."
            ) from None
        check_parsed(data)
        return data
