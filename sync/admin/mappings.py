"""The mapping editor of the configuration form: a table of QMS fields beside the remote
columns (from the connection's catalogue), which a script builds over the `field_mappings`
JSON box and writes back into it; without the script, or when the columns cannot be read,
the JSON box is edited as it is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from sync import services
from sync.configuration_checks import local_fields_of
from sync.models import Connection, SyncConfiguration
from sync.transforms import TRANSFORMS

Columns = tuple[list[str] | None, str, str]  # column names (None: type them), note, error


def local_fields_by_type() -> dict[str, list[str] | None]:
    """The QMS fields each entity type can map (None: the record store takes any name)."""
    by_type = {str(value): local_fields_of(value) for value in SyncConfiguration.EntityType.values}
    return {
        value: list(fields) if fields is not None else None for value, fields in by_type.items()
    }


def remote_columns(connection: Connection | None, remote_object: str) -> Columns:
    if connection is None or not remote_object:
        return None, "Choose the connection and the table to pick its columns from a list.", ""
    if connection.kind == Connection.Kind.REST:
        return (
            None,
            (
                "A REST API has no catalogue: type the JSON field names (dotted paths "
                "into nested objects, such as address.city, work too)."
            ),
            "",
        )
    try:
        described = services.connection_describe(connection=connection, object_name=remote_object)
    except ValidationError as exc:
        return (
            None,
            "",
            (
                f"The columns of {remote_object} could not be read ({'; '.join(exc.messages)}). "
                "Edit the mappings as JSON; they are checked against the table when you save."
            ),
        )
    return [column.name for column in described], "", ""


class FieldMappingsWidget(forms.Textarea):
    template_name = "sync/widgets/field_mappings.html"  # in sync/templates: the form renderer's

    def __init__(
        self,
        *,
        columns: Callable[[], Columns] | None = None,
        columns_url: str = "",
        attrs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(attrs={"rows": 8, "cols": 90, **(attrs or {})})
        self.columns, self.columns_url = columns, columns_url

    class Media:
        js = ("sync/mapping_editor.js",)

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        # Read only when the page is drawn (a valid POST never needs the catalogue).
        columns, note, error = self.columns() if self.columns else (None, "", "")
        context["editor"] = {
            "local_fields": local_fields_by_type(),
            "columns": columns,
            "note": note,
            "error": error,
            "columns_url": self.columns_url,
            "transforms": [name for name, (needs, _, _) in TRANSFORMS.items() if not needs],
        }
        context["editor_id"] = f"{context['widget']['attrs'].get('id', name)}-editor"
        return context
