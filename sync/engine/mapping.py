"""Field mappings applied to one row, in either direction."""

from __future__ import annotations

from typing import Any

from sync import transforms
from sync.engine.values import typed_values
from sync.models import SyncConfiguration


def local_fields(config: SyncConfiguration) -> list[str]:
    return [mapping["local"] for mapping in config.field_mappings]


def remote_columns(config: SyncConfiguration) -> tuple[str, ...]:
    return tuple(mapping["remote"] for mapping in config.field_mappings)


def map_row(config: SyncConfiguration, row: dict[str, Any]) -> dict[str, Any]:
    """External row -> QMS field values (transformed, not yet typed)."""
    values = {}
    for mapping in config.field_mappings:
        try:
            values[mapping["local"]] = transforms.apply(
                mapping.get("transform"), row[mapping["remote"]]
            )
        except transforms.TransformError as exc:
            raise transforms.TransformError(f"{mapping['local']}: {exc}") from None
    return values


def typed_row(config: SyncConfiguration, row: dict[str, Any]) -> dict[str, Any]:
    """External row -> typed QMS values; TransformError or ValidationError when it cannot."""
    return typed_values(config.entity_type, map_row(config, row))


def unmap(config: SyncConfiguration, external_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """Typed QMS values -> the external row to write (the key column holds the external id)."""
    row: dict[str, Any] = {config.remote_key: external_id}
    for mapping in config.field_mappings:
        try:
            row[mapping["remote"]] = transforms.reverse(
                mapping.get("transform"), values.get(mapping["local"])
            )
        except transforms.TransformError as exc:
            raise transforms.TransformError(f"{mapping['local']}: {exc}") from None
    return row
