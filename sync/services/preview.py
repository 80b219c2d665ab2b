"""Read-only look at what the next delta run of a configuration would read."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from sync import transforms
from sync.connectors.base import external_id
from sync.connectors.errors import ConnectorError
from sync.engine import cursor as cursor_codec
from sync.models import SyncConfiguration, SyncState


def delta_preview(*, config: SyncConfiguration, limit: int = 20) -> dict[str, Any]:
    """How many rows the next delta run would read (None when the source cannot tell) and the
    first `limit` of them as they would be mapped. Writes nothing."""
    from sync.engine.mapping import typed_row
    from sync.engine.remote import remote_session

    if not config.delta_field:
        raise ValidationError({"delta_field": "This configuration has no cursor column."})
    state = SyncState.objects.filter(configuration=config).first()
    after = None
    if state and state.cursor_value is not None:
        after = (cursor_codec.decode(state.cursor_value), cursor_codec.decode(state.cursor_key))
    try:
        with remote_session(config) as session:
            upper = session.upper_bound()
            if session.ordered and upper is None:
                return {"count": 0, "upper_bound": None, "after": None, "rows": []}
            total = session.count(after=after, upper=upper)
            rows = next(iter(session.batches(after=after, upper=upper, size=limit)), [])
    except ConnectorError as exc:
        raise ValidationError({"connection": str(exc)}) from None
    preview = []
    for row in rows[:limit]:
        entry: dict[str, Any] = {"external_id": external_id(row, config.remote_key)}
        try:
            entry["values"] = typed_row(config, row)
        except (transforms.TransformError, ValidationError) as exc:
            entry["error"] = (
                "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            )
        preview.append(entry)
    return {
        "count": total,
        "upper_bound": cursor_codec.encode(upper),
        "after": [cursor_codec.encode(v) for v in after] if after else None,
        "rows": preview,
    }
