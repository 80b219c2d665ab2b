"""The user and group admins: Django's, with changes of access (a user's groups, flags and
direct permissions; a group's permissions) and deletions made through eqms_integration.users
(so they are in the audit trail), and the History page showing the user's audit events."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.admin_history import AuditHistoryMixin
from eqms_integration.users import (
    group_access_of,
    group_delete,
    group_saved,
    user_access_of,
    user_access_saved,
    user_delete,
    user_groups_set,
    user_password_set,
)

User = get_user_model()


class AuditedPasswordChangeForm(AdminPasswordChangeForm):
    """The admin's password page, through the service that records the change."""

    def save(self, commit: bool = True) -> Any:
        if not commit:
            return super().save(commit=False)
        usable = self.cleaned_data.get("set_usable_password", True)
        password = self.cleaned_data["password1"] if usable else None
        user_password_set(user=self.user, password=password)
        return self.user


class AuditedUserAdmin(AuditHistoryMixin, UserAdmin):
    audit_object_type = "user"
    change_password_form = AuditedPasswordChangeForm

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # What the user had before this form, read from the database (the form changed obj).
        form.audit_before = user_access_of(User.objects.get(pk=obj.pk)) if change else {}
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Taken out of the form's own many-to-many save, so the services record the change.
        groups = form.cleaned_data.pop("groups", None)
        permissions = form.cleaned_data.pop("user_permissions", None)
        super().save_related(request, form, formsets, change)
        if groups is not None:
            user_groups_set(user=form.instance, groups=groups)
        user_access_saved(
            user=form.instance,
            before=getattr(form, "audit_before", {}),
            permissions=permissions,
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        user_delete(user=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for user in queryset:
            user_delete(user=user)


class AuditedGroupAdmin(GroupAdmin):
    """Groups (the roles): a change of their permissions is a change of everyone's access."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        form.audit_before = group_access_of(Group.objects.get(pk=obj.pk)) if change else {}
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        permissions = form.cleaned_data.pop("permissions", None)
        super().save_related(request, form, formsets, change)
        group_saved(
            group=form.instance,
            before=getattr(form, "audit_before", {}),
            permissions=permissions,
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        group_delete(group=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for group in queryset:
            group_delete(group=group)


if admin.site.is_registered(Group):
    admin.site.unregister(Group)
admin.site.register(Group, AuditedGroupAdmin)

if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, AuditedUserAdmin)
