"""Admin screens for the QMS entities. Saves and the close action go through the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from audit.admin_history import AuditHistoryMixin
from eqms_integration.admin_actions import ObjectAction, ObjectActionsMixin
from eqms_integration.text import counted
from quality import registry
from quality.models import CAPA, NCR, Equipment, Supplier


class ServiceAdmin(AuditHistoryMixin, ObjectActionsMixin, admin.ModelAdmin):
    """Routes admin saves through the services so rules (numbering, closing, the audit trail)
    hold here too; the History page shows the record's audit trail from every channel."""

    entity: registry.Entity  # model, editable fields and services, from the registry
    readonly_fields: tuple[str, ...] = ("created_at", "updated_at")
    list_per_page = 50

    @property
    def editable_fields(self) -> tuple[str, ...]:
        return self.entity.editable_fields

    @property
    def audit_object_type(self) -> str:  # type: ignore[override]
        return self.entity.object_type

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # records are closed or retired, never deleted

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and self.entity.is_closed(obj):
            fields += self.entity.editable_fields  # a closed record is read-only
        return fields

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """A change the services refuse (a closed record, a CAPA against a closed NCR) is
        reported on the page it came from, naming the record, and nothing is saved."""
        if request.method == "POST" and object_id is not None:
            obj = self.get_object(request, unquote(object_id))
            if obj is not None and self.entity.is_closed(obj):
                label = self.opts.verbose_name
                message = f"{obj.number} is closed: a closed {label} cannot be changed."
                self.message_user(request, message, messages.ERROR)
                return HttpResponseRedirect(self.change_url(obj))
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:  # raised by a service inside the admin's transaction
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

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

    def close_service(self, obj: Any, reason: str = "") -> Any:
        return self.entity.close(obj, reason=reason)

    def cannot_close(self, obj: Any) -> str:
        return f"{obj.number} is already closed." if obj.status == "closed" else ""

    def close_one(self, request: HttpRequest, obj: Any, data: dict[str, Any]) -> None:
        closed = self.close_service(obj, data.get("reason", ""))
        self.message_user(request, f"Closed {closed.number}.", messages.SUCCESS)

    @admin.action(description="Close selected %(verbose_name_plural)s", permissions=["close"])
    def close_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        _close_selected(self, request, queryset, self.close_service)

    def has_close_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.close_{opts.model_name}")


class CloseForm(forms.Form):
    reason = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional; recorded in the audit trail with the close.",
    )


def _close_action(label: str) -> ObjectAction:
    return ObjectAction(
        "close",
        "Close",
        f"quality.close_{label.lower()}",
        "close_one",
        unavailable="cannot_close",
        form=CloseForm,
        question=f"Close {{obj}}? A closed {label} cannot be reopened or changed; its webhook "
        f"subscribers receive {label.lower()}.closed.",
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
