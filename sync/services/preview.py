"""Read-only look at what the next delta run of a configuration would read, and what its
first run will do."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from sync import transforms
from sync.connectors import cursors
from sync.connectors.base import external_id
from sync.connectors.errors import ConnectorError
from sync.engine.links import links_by_local_id
from sync.engine.local import store_for
from sync.engine.mapping import row_typer, unmap
from sync.engine.remote import remote_session
from sync.models import SyncConfiguration, SyncRun, SyncState

Direction = SyncConfiguration.Direction


def is_first_run(config: SyncConfiguration) -> bool:
    """No run of this configuration has carried out its work yet (dry runs do not count)."""
    return not config.runs.filter(dry_run=False, status__in=SyncRun.COMPLETED).exists()


def first_run_notice(config: SyncConfiguration) -> str:
    """What the first two-way run will do that people do not expect; "" when nothing."""
    if config.sync_direction != Direction.BIDIRECTIONAL or not is_first_run(config):
        return ""
    return (
        f"This is the first run of a two-way configuration: records that exist on one side "
        f"only are created on the other (rows of {config.connection.name} missing in the QMS "
        f"are created in the QMS, QMS records missing there are written to "
        f"{config.remote_object}). Try a dry run first: it reads and compares both sides and "
        f"writes nothing."
    )


def _remote_preview(config: SyncConfiguration, limit: int) -> dict[str, Any]:
    if not config.delta_field:
        raise ValidationError({"delta_field": "This configuration has no cursor column."})
    state = SyncState.objects.filter(configuration=config).first()
    after = None
    if state and state.cursor_value is not None:
        after = (cursors.decode(state.cursor_value), cursors.decode(state.cursor_key))
    try:
        with remote_session(config) as session:
            upper = session.upper_bound()
            if session.ordered and upper is None:
                return {"count": 0, "upper_bound": None, "after": None, "rows": []}
            total = session.count(after=after, upper=upper)
            rows = next(iter(session.batches(after=after, upper=upper, size=limit)), [])
    except ConnectorError as exc:
        raise ValidationError({"connection": str(exc)}) from None
    preview, typed_row = [], row_typer(config)
    for row in rows[:limit]:
        entry: dict[str, Any] = {"external_id": external_id(row, config.remote_key)}
        try:
            entry["values"] = typed_row(row)
        except (transforms.TransformError, ValidationError) as exc:
            entry["error"] = (
                "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            )
        preview.append(entry)
    return {
        "count": total,
        "upper_bound": cursors.encode(upper),
        "after": [cursors.encode(v) for v in after] if after else None,
        "rows": preview,
    }


def _local_preview(config: SyncConfiguration, limit: int) -> dict[str, Any]:
    """The QMS rows changed since the outbound cursor, as they would be written out."""

    store = store_for(config)
    state = SyncState.objects.filter(configuration=config).first()
    after = None
    if state and state.local_cursor_value is not None:
        after = (state.local_cursor_value, state.local_cursor_key)
    upper = timezone.now() - timedelta(seconds=settings.SYNC_LOCAL_SETTLE_SECONDS)
    objs = next(iter(store.changed(after, upper, limit)), [])
    links = links_by_local_id(config, [obj.pk for obj in objs])
    preview = []
    for obj in objs:
        link = links.get(obj.pk)
        entry: dict[str, Any] = {
            "external_id": link.external_id if link else store.external_id_of(obj)
        }
        try:
            entry["values"] = unmap(config, entry["external_id"], store.values_of(obj))
        except transforms.TransformError as exc:
            entry["error"] = str(exc)
        preview.append(entry)
    return {
        "count": store.count_changed(after, upper),
        "upper_bound": upper.isoformat(),
        "after": [after[0].isoformat(), after[1]] if after else None,
        "rows": preview,
    }


def delta_preview(*, config: SyncConfiguration, limit: int = 20) -> dict[str, Any]:
    """What the next delta run would read first: the external side (inbound, two-way) or the
    QMS (outbound), how many rows (None when a source cannot tell) and the first `limit` as
    they would be mapped; a two-way configuration adds the QMS side under `outbound`. Writes
    nothing."""
    if config.sync_direction == Direction.OUTBOUND:
        result = _local_preview(config, limit)
    else:
        result = _remote_preview(config, limit)
    if config.sync_direction == Direction.BIDIRECTIONAL:
        result["outbound"] = _local_preview(config, limit)
    notice = first_run_notice(config)
    return {
        "direction": config.sync_direction,
        **result,
        "first_run": is_first_run(config),
        "notices": [notice] if notice else [],
    }
