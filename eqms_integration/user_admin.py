"""The user admin: Django's, with group changes made through eqms_integration.users (so they
are in the audit trail) and the History page showing the user's audit events."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest

from audit.admin_history import AuditHistoryMixin
from eqms_integration.users import user_groups_set

User = get_user_model()


class AuditedUserAdmin(AuditHistoryMixin, UserAdmin):
    audit_object_type = "user"

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Taken out of the form's own many-to-many save, so the service records the change.
        groups = form.cleaned_data.pop("groups", None)
        super().save_related(request, form, formsets, change)
        if groups is not None:
            user_groups_set(user=form.instance, groups=groups)


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, AuditedUserAdmin)
