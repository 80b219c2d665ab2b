"""Admin screens of sync conflicts: the values of both sides and the base side by side, and a
resolve form (source wins, target wins, custom values, ignore) that calls the service."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from audit.admin_history import AuditHistoryMixin
from sync.models import SyncConflict
from sync.services.conflicts import (
    RemoteWriteError,
    conflict_fields,
    conflict_local_model,
    conflict_resolve,
)

CUSTOM_PREFIX = "custom__"


def comparison(conflict: SyncConflict) -> list[dict[str, Any]]:
    """One row per synced field: base, source and target values, and whether they differ."""
    base = conflict.base_values or {}
    names = conflict_fields(conflict) or sorted({*conflict.source_values, *conflict.target_values})
    return [
        {
            "field": name,
            "base": base.get(name),
            "source": conflict.source_values.get(name),
            "target": conflict.target_values.get(name),
            "differs": name in conflict.fields,
        }
        for name in names
    ]


def local_record_link(conflict: SyncConflict) -> str:
    """A link to the QMS record of the conflict (its admin page), or why there is none."""
    if conflict.local_id is None:
        return "none yet (the record is not in the QMS)"
    model = conflict_local_model(conflict)
    opts = model._meta
    obj = model.objects.filter(pk=conflict.local_id).first()
    if obj is None:
        return f"{opts.verbose_name} {conflict.local_id} (no longer exists)"
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}" id="local-record">{} {}</a>', url, opts.verbose_name, obj)


@admin.register(SyncConflict)
class SyncConflictAdmin(AuditHistoryMixin, admin.ModelAdmin):
    audit_object_type = "sync_conflict"
    list_display = (
        "id",
        "configuration",
        "external_id",
        "status",
        "strategy",
        "differing_fields",
        "resolution",
        "resolved_by",
        "detected_at",
    )
    list_filter = ("status", "resolved_automatically", "strategy", "configuration")
    search_fields = ("external_id",)
    list_select_related = ("configuration", "resolved_by")
    change_form_template = "admin/sync/syncconflict/change_form.html"

    @admin.display(description="fields")
    def differing_fields(self, obj: SyncConflict) -> str:
        return ", ".join(obj.fields)

    fieldsets = (
        (
            None,
            {
                "fields": (
                    "configuration",
                    "external_id",
                    "local_record",
                    "status",
                    "strategy",
                    "fields",
                    "detected_at",
                    "updated_at",
                    "run",
                )
            },
        ),
        (
            "Decision",
            {
                "fields": (
                    "resolution",
                    "resolved_value",
                    "resolved_automatically",
                    "resolved_by",
                    "resolved_at",
                    "notes",
                )
            },
        ),
        (
            "Technical details",
            {
                "classes": ("collapse",),
                "fields": (
                    "source_hash",
                    "target_hash",
                    "source_changed_at",
                    "target_changed_at",
                    "local_id",
                    "source_values",
                    "target_values",
                    "base_values",
                ),
            },
        ),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in SyncConflict._meta.fields] + ["local_record"]

    @admin.display(description="QMS record")
    def local_record(self, obj: SyncConflict) -> str:
        return local_record_link(obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        resolve = path(
            "<int:conflict_id>/resolve/",
            self.admin_site.admin_view(self.resolve_view),
            name="sync_syncconflict_resolve",
        )
        return [resolve, *super().get_urls()]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        extra = dict(extra_context or {})
        conflict = (
            SyncConflict.objects.filter(pk=object_id).select_related("configuration").first()
            if object_id.isdigit()
            else None
        )
        if conflict is not None:
            extra["comparison"] = comparison(conflict)
            extra["local_record"] = local_record_link(conflict)
            extra["resolvable"] = conflict.resolvable
            extra["may_resolve"] = request.user.has_perm("sync.resolve_syncconflict")
            extra["custom_prefix"] = CUSTOM_PREFIX
        return super().change_view(request, object_id, form_url, extra)

    @staticmethod
    def _custom_values(request: HttpRequest) -> dict[str, str]:
        return {
            name.removeprefix(CUSTOM_PREFIX): value
            for name, value in request.POST.items()
            if name.startswith(CUSTOM_PREFIX)
        }

    def resolve_view(self, request: HttpRequest, conflict_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("sync.resolve_syncconflict"):
            raise PermissionDenied
        conflict = get_object_or_404(SyncConflict, pk=conflict_id)
        resolution = request.POST.get("resolution", "")
        if not resolution:
            self.message_user(request, "Not resolved: choose how to resolve it.", messages.ERROR)
            return HttpResponseRedirect(
                reverse("admin:sync_syncconflict_change", args=[conflict_id])
            )
        custom = self._custom_values(request) if resolution == "custom_value" else None
        try:
            conflict = conflict_resolve(
                conflict=conflict,
                resolution=resolution,
                resolved_value=custom,
                reason=request.POST.get("notes", "").strip(),
                user=request.user,
            )
        except (ValidationError, RemoteWriteError) as exc:
            reason = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            self.message_user(request, f"Not resolved: {reason}", messages.ERROR)
        else:
            self.message_user(
                request,
                f"Conflict {conflict.pk} ({conflict.external_id}): {conflict.status}, "
                f"{conflict.get_resolution_display().lower()}.",
                messages.SUCCESS,
            )
        return HttpResponseRedirect(reverse("admin:sync_syncconflict_change", args=[conflict_id]))
