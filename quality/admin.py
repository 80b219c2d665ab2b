"""Admin screens for the QMS entities. Saves and the close action go through the services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from eqms_integration.text import counted
from quality import services
from quality.models import CAPA, NCR, Equipment, Supplier
from quality.services.capa import CAPA_EDITABLE_FIELDS
from quality.services.master_data import EQUIPMENT_FIELDS, SUPPLIER_FIELDS
from quality.services.ncr import NCR_EDITABLE_FIELDS


class ServiceAdmin(admin.ModelAdmin):
    """Routes admin saves through the services so rules (numbering, closing) hold here too."""

    editable_fields: tuple[str, ...] = ()
    readonly_fields: tuple[str, ...] = ("created_at", "updated_at")
    list_per_page = 50

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # records are closed or retired, never deleted

    # Set by subclasses, as on the API viewsets: create_service(**data), update_service(obj, data).
    create_service: Any
    update_service: Any

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and getattr(obj, "status", None) == "closed":
            fields += ("status",)  # nothing leaves `closed`
        return fields

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_choice_field(db_field, request, **kwargs)
        if db_field.name == "status" and self.has_close_actions:
            # Closing is an action of its own (it stamps closed_at); the form cannot reach it.
            field.choices = [c for c in field.choices if c[0] != "closed"]
        return field

    has_close_actions = False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = {
            name: form.cleaned_data[name]
            for name in self.editable_fields
            if name in form.cleaned_data
        }
        if change:
            saved = type(self).update_service(type(obj).objects.get(pk=obj.pk), data)
        else:
            saved = type(self).create_service(**data)
        obj.pk = saved.pk
        obj.__dict__.update(
            {f.attname: getattr(saved, f.attname) for f in saved._meta.concrete_fields}
        )


def _close_selected(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, close: Any
) -> None:
    closed = 0
    for obj in queryset:
        try:
            close(obj)
            closed += 1
        except ValidationError as exc:
            modeladmin.message_user(request, "; ".join(exc.messages), messages.WARNING)
    if closed:
        meta = modeladmin.model._meta
        noun = counted(closed, str(meta.verbose_name), str(meta.verbose_name_plural))
        modeladmin.message_user(request, f"Closed {noun}.", messages.SUCCESS)


@admin.register(NCR)
class NCRAdmin(ServiceAdmin):
    list_display = (
        "number",
        "title",
        "severity",
        "status",
        "source",
        "detected_at",
        "closed_at",
        "updated_at",
    )
    list_filter = ("status", "severity", "created_at")
    search_fields = ("number", "title", "description", "source")
    date_hierarchy = "created_at"
    readonly_fields = ("number", "closed_at", "created_at", "updated_at")
    fields = (
        "number",
        "title",
        "description",
        "severity",
        "status",
        "source",
        "detected_at",
        "closed_at",
        "created_at",
        "updated_at",
    )
    editable_fields = NCR_EDITABLE_FIELDS
    actions = ("close_selected",)
    has_close_actions = True

    create_service = staticmethod(services.ncr_create)
    update_service = staticmethod(lambda obj, data: services.ncr_update(ncr=obj, data=data))

    @admin.action(description="Close selected NCRs", permissions=["close"])
    def close_selected(self, request: HttpRequest, queryset: QuerySet[NCR]) -> None:
        _close_selected(self, request, queryset, lambda ncr: services.ncr_close(ncr=ncr))

    def has_close_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("quality.close_ncr")


@admin.register(CAPA)
class CAPAAdmin(ServiceAdmin):
    list_display = (
        "number",
        "title",
        "capa_type",
        "status",
        "ncr",
        "owner",
        "due_date",
        "closed_at",
    )
    list_filter = ("status", "capa_type", "due_date")
    search_fields = ("number", "title", "description", "owner", "ncr__number")
    date_hierarchy = "created_at"
    list_select_related = ("ncr",)
    autocomplete_fields = ("ncr",)
    readonly_fields = ("number", "closed_at", "created_at", "updated_at")
    fields = (
        "number",
        "title",
        "description",
        "capa_type",
        "status",
        "ncr",
        "owner",
        "due_date",
        "closed_at",
        "created_at",
        "updated_at",
    )
    editable_fields = CAPA_EDITABLE_FIELDS
    actions = ("close_selected",)
    has_close_actions = True

    create_service = staticmethod(services.capa_create)
    update_service = staticmethod(lambda obj, data: services.capa_update(capa=obj, data=data))

    @admin.action(description="Close selected CAPAs", permissions=["close"])
    def close_selected(self, request: HttpRequest, queryset: QuerySet[CAPA]) -> None:
        _close_selected(self, request, queryset, lambda capa: services.capa_close(capa=capa))

    def has_close_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("quality.close_capa")


@admin.register(Equipment)
class EquipmentAdmin(ServiceAdmin):
    list_display = (
        "number",
        "name",
        "category",
        "location",
        "status",
        "calibration_due_date",
        "updated_at",
    )
    list_filter = ("status", "category", "location")
    search_fields = ("number", "name", "serial_number", "manufacturer", "model")
    editable_fields = EQUIPMENT_FIELDS

    create_service = staticmethod(services.equipment_create)
    update_service = staticmethod(
        lambda obj, data: services.equipment_update(equipment=obj, data=data)
    )


@admin.register(Supplier)
class SupplierAdmin(ServiceAdmin):
    list_display = (
        "number",
        "name",
        "contact_name",
        "email",
        "status",
        "approval_status",
        "updated_at",
    )
    list_filter = ("status", "approval_status")
    search_fields = ("number", "name", "contact_name", "email")
    editable_fields = SUPPLIER_FIELDS

    create_service = staticmethod(services.supplier_create)
    update_service = staticmethod(
        lambda obj, data: services.supplier_update(supplier=obj, data=data)
    )
