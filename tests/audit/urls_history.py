"""Test-only routes: an admin site whose NCR admin uses AuditHistoryMixin, beside the
project's own (the event links point into the project's admin)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from audit.admin_history import AuditHistoryMixin
from eqms_integration.urls import urlpatterns as project_urls
from quality.models import NCR


class NCRHistoryAdmin(AuditHistoryMixin, admin.ModelAdmin):
    audit_object_type = "ncr"


site = admin.AdminSite(name="history_admin")
site.register(NCR, NCRHistoryAdmin)

urlpatterns = [path("history-admin/", site.urls), *project_urls]
