"""Field mappings applied to one row, in either direction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sync import transforms
from sync.engine.values import typed_converter
from sync.models import SyncConfiguration


def local_fields(config: SyncConfiguration) -> list[str]:
    return [mapping["local"] for mapping in config.field_mappings]


def remote_columns(config: SyncConfiguration) -> tuple[str, ...]:
    return tuple(mapping["remote"] for mapping in config.field_mappings)


def row_typer(config: SyncConfiguration) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """External row -> typed QMS values (TransformError or ValidationError when it cannot), as
    one function compiled from the configuration at its first call (transforms normalised and
    fields looked up once, not per value): build it once per batch, apply it to each row."""
    compiled: list = []

    def typed(row: dict[str, Any]) -> dict[str, Any]:
        if not compiled:
            steps = [
                (mapping["local"], mapping["remote"], transforms.compiled(mapping.get("transform")))
                for mapping in config.field_mappings
            ]
            names = list(dict.fromkeys(local for local, _, _ in steps))
            compiled.append((steps, typed_converter(config.entity_type, names)))
        steps, convert = compiled[0]
        return convert(
            {local: _applied(local, functions, row[remote]) for local, remote, functions in steps}
        )

    return typed


def unmap(config: SyncConfiguration, external_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """Typed QMS values -> the external row to write (the key column holds the external id)."""
    return row_unmapper(config)(external_id, values)


def row_unmapper(config: SyncConfiguration) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    """`unmap(config, external_id, values)` as one function with the transforms normalised
    once, not per value: build it once per batch, apply it to each row."""
    steps = []
    for mapping in config.field_mappings:
        try:
            functions = transforms.reverse_compiled(mapping.get("transform"))
        except transforms.TransformError as exc:
            raise transforms.TransformError(f"{mapping['local']}: {exc}") from None
        steps.append((mapping["local"], mapping["remote"], functions))
    key = config.remote_key

    def unmapped(external_id: str, values: dict[str, Any]) -> dict[str, Any]:
        row: dict[str, Any] = {key: external_id}
        for local, remote, functions in steps:
            row[remote] = _applied(local, functions, values.get(local))
        return row

    return unmapped


def _applied(local: str, functions: list, value: Any) -> Any:
    """`value` through a mapping's compiled transform steps (either way); a step's error names
    the QMS field."""
    try:
        for function, spec in functions:
            value = function(value, spec)
    except transforms.TransformError as exc:
        raise transforms.TransformError(f"{local}: {exc}") from None
    return value
