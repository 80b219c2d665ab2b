"""The History page of any admin object, from the audit trail.

    class NCRAdmin(AuditHistoryMixin, admin.ModelAdmin):
        audit_object_type = "ncr"

Replaces Django's History (which lists only changes made through this admin's own forms) with
the object's audit events from every channel, newest first, 100 per page. Who may see an
object may see its history, as in Django; the link to each event's detail appears only for
those who may view audit events.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import PAGE_VAR
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.text import capfirst

from audit import selectors
from audit.models import AuditEvent

PER_PAGE = 100


def _event_link(event: AuditEvent) -> str:
    try:
        return reverse("admin:audit_auditevent_change", args=[event.pk])
    except NoReverseMatch:  # an admin site without the audit trail
        return ""


def _changes(event: AuditEvent) -> list[tuple[str, str, str]]:
    def shown(value: Any) -> str:
        return "—" if value is None else json.dumps(value, ensure_ascii=False)

    return [(name, shown(old), shown(new)) for name, (old, new) in sorted(event.changes.items())]


class AuditHistoryMixin:
    audit_object_type: str = ""
    audit_history_template = "admin/audit/object_history.html"

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if self.audit_object_type not in AuditEvent.ObjectType.values:
            raise ImproperlyConfigured(
                f"{type(self).__name__}.audit_object_type must be one of AuditEvent.ObjectType."
            )
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        events = selectors.object_history(self.audit_object_type, obj.pk)
        paginator = self.get_paginator(request, events, PER_PAGE)
        page = paginator.get_page(request.GET.get(PAGE_VAR, 1))
        linked = request.user.has_perm("audit.view_auditevent")
        rows = [
            {"event": e, "changes": _changes(e), "link": _event_link(e) if linked else ""}
            for e in page
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Change history: {obj}",
            "subtitle": None,
            "rows": rows,
            "page_obj": page,
            "page_range": paginator.get_elided_page_range(page.number),
            "page_var": PAGE_VAR,
            "pagination_required": paginator.num_pages > 1,
            "module_name": str(capfirst(self.opts.verbose_name_plural)),
            "object": obj,
            "opts": self.opts,
            "preserved_filters": self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.audit_history_template, context)
