"""Read-only look at what the next delta run of a configuration would read."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from sync import transforms
from sync.connectors.errors import ConnectorError
from sync.connectors.sql import SQLConnector, count_rows, max_value, select_batch
from sync.engine import cursor as cursor_codec
from sync.models import SyncConfiguration, SyncState


def delta_preview(*, config: SyncConfiguration, limit: int = 20) -> dict[str, Any]:
    from sync.engine.runner import map_row
    from sync.services.connections import connector_for

    if not config.delta_field:
        raise ValidationError({"delta_field": "This configuration has no cursor column."})
    connector = connector_for(config.connection)
    if not isinstance(connector, SQLConnector):
        raise ValidationError({"connection": "Previews read SQL sources only, so far."})
    state = SyncState.objects.filter(configuration=config).first()
    after = None
    if state and state.cursor_value is not None:
        after = (cursor_codec.decode(state.cursor_value), cursor_codec.decode(state.cursor_key))
    columns = [mapping["remote"] for mapping in config.field_mappings]
    try:
        with connector.open() as db:
            upper = max_value(db, config.remote_object, config.delta_field)
            if upper is None:
                return {"count": 0, "upper_bound": None, "after": None, "rows": []}
            keyset = {
                "object_name": config.remote_object,
                "key": config.remote_key,
                "cursor_field": config.delta_field,
                "after": after,
                "upper": upper,
            }
            total = count_rows(db, **keyset)
            rows = select_batch(db, kind=connector.kind, columns=columns, limit=limit, **keyset)
    except ConnectorError as exc:
        raise ValidationError({"connection": str(exc)}) from None
    preview = []
    for row in rows:
        entry: dict[str, Any] = {"external_id": str(row[config.remote_key])}
        try:
            entry["values"] = map_row(config, row)
        except transforms.TransformError as exc:
            entry["error"] = str(exc)
        preview.append(entry)
    return {
        "count": total,
        "upper_bound": cursor_codec.encode(upper),
        "after": [cursor_codec.encode(v) for v in after] if after else None,
        "rows": preview,
    }
