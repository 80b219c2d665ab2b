"""Admin screens for the QMS entities. Saves and the close action go through the services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from eqms_integration.admin_actions import ObjectAction, ObjectActionsMixin
from eqms_integration.text import counted
from quality import registry
from quality.models import CAPA, NCR, Equipment, Supplier


class ServiceAdmin(ObjectActionsMixin, admin.ModelAdmin):
    """Routes admin saves through the services so rules (numbering, closing) hold here too."""

    entity: registry.Entity  # model, editable fields and services, from the registry
    readonly_fields: tuple[str, ...] = ("created_at", "updated_at")
    list_per_page = 50

    @property
    def editable_fields(self) -> tuple[str, ...]:
        return self.entity.editable_fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # records are closed or retired, never deleted

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
            saved = self.entity.update(type(obj).objects.get(pk=obj.pk), data)
        else:
            saved = self.entity.create(**data)
        obj.pk = saved.pk
        obj.__dict__.update(
            {f.attname: getattr(saved, f.attname) for f in saved._meta.concrete_fields}
        )


class ClosableAdmin(ServiceAdmin):
    """NCRs and CAPAs: `closed` is reached only through the close service (a button with a
    confirmation page, or the list action)."""

    has_close_actions = True
    actions = ("close_selected",)

    def close_service(self, obj: Any) -> Any:
        return self.entity.close(obj)

    def cannot_close(self, obj: Any) -> str:
        return f"{obj.number} is already closed." if obj.status == "closed" else ""

    def close_one(self, request: HttpRequest, obj: Any, data: dict[str, Any]) -> None:
        closed = self.close_service(obj)
        self.message_user(request, f"Closed {closed.number}.", messages.SUCCESS)

    @admin.action(description="Close selected %(verbose_name_plural)s", permissions=["close"])
    def close_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        _close_selected(self, request, queryset, self.close_service)

    def has_close_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.close_{opts.model_name}")


def _close_action(label: str) -> ObjectAction:
    return ObjectAction(
        "close", "Close", f"quality.close_{label.lower()}", "close_one", unavailable="cannot_close",
        question=f"Close {{obj}}? A closed {label} cannot be reopened; its webhook subscribers "
                 f"receive {label.lower()}.closed.",
    )  # fmt: skip


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
class NCRAdmin(ClosableAdmin):
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
    entity = registry.NCR_ENTITY
    readonly_fields = (*entity.read_only_fields, *registry.TIMESTAMPS)
    fields = (*entity.form_fields, *registry.TIMESTAMPS)
    object_actions = (_close_action("NCR"),)


@admin.register(CAPA)
class CAPAAdmin(ClosableAdmin):
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
    entity = registry.CAPA_ENTITY
    readonly_fields = (*entity.read_only_fields, *registry.TIMESTAMPS)
    fields = (*entity.form_fields, *registry.TIMESTAMPS)
    object_actions = (_close_action("CAPA"),)


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
    entity = registry.EQUIPMENT_ENTITY


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
    entity = registry.SUPPLIER_ENTITY
