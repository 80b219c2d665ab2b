"""The audit trail in the admin: a filtered list with CSV export, and each event's detail with
its seal. Read-only for everyone, superusers included: no add, change or delete."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join

from audit import export, selectors
from audit.models import AuditEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


DETAIL_FIELDS = (
    "occurred_at",
    ("actor_type", "actor_id", "actor_name"),
    "channel",
    "action",
    ("object_type", "object_id", "object_repr"),
    "changes_table",
    "reason",
    ("request_id", "client_ip"),
    "seal_sequence",
    "seal_hash",
    "seal_previous_hash",
)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "occurred_at",
        "object_type",
        "object_repr",
        "action",
        "actor_type",
        "actor_name",
        "channel",
        "sealed",
    )
    list_filter = ("object_type", "action", "channel", "actor_type", "occurred_at")
    search_fields = ("object_repr", "object_id", "actor_name", "actor_id", "request_id")
    date_hierarchy = "occurred_at"
    list_per_page = 100
    show_full_result_count = False  # counting a long trail on every page view is slow
    actions = ("export_selected_csv",)
    fields = DETAIL_FIELDS
    readonly_fields = tuple(
        name
        for entry in DETAIL_FIELDS
        for name in (entry if isinstance(entry, tuple) else (entry,))
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        return selectors.events_with_seal()

    @admin.display(boolean=True, description="sealed")
    def sealed(self, event: AuditEvent) -> bool:
        return event.seal_sequence is not None

    @admin.display(description="changes")
    def changes_table(self, event: AuditEvent) -> str:
        if not event.changes:
            return "-"
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td><td>→</td><td>{}</td></tr>",
            (
                (name, json.dumps(old, ensure_ascii=False), json.dumps(new, ensure_ascii=False))
                for name, (old, new) in sorted(event.changes.items())
            ),
        )
        return format_html("<table>{}</table>", rows)

    @admin.display(description="seal sequence")
    def seal_sequence(self, event: AuditEvent) -> Any:
        return event.seal_sequence or "awaiting its seal"

    @admin.display(description="hash")
    def seal_hash(self, event: AuditEvent) -> str:
        return event.seal_hash or "-"

    @admin.display(description="previous hash")
    def seal_previous_hash(self, event: AuditEvent) -> str:
        return event.seal_previous_hash or "-"

    @admin.action(description="Export selected events as CSV", permissions=["view"])
    def export_selected_csv(
        self, request: HttpRequest, queryset: QuerySet[AuditEvent]
    ) -> StreamingHttpResponse:
        return export.csv_response(queryset)

    def get_urls(self) -> list[URLPattern]:
        export_view = self.admin_site.admin_view(self.export_filtered_csv)
        name = f"{self.opts.app_label}_{self.opts.model_name}_export"
        return [path("export/", export_view, name=name), *super().get_urls()]

    def export_filtered_csv(self, request: HttpRequest) -> HttpResponse:
        """The changelist's filtered list (same filters, search and date drill-down) as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:  # as the changelist itself answers a bad filter
            url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
            return HttpResponseRedirect(f"{url}?{ERROR_FLAG}=1")
        return export.csv_response(changelist.get_queryset(request))
