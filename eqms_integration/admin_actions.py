"""Buttons on an admin change page that do one thing to that object (revoke, rotate, test,
retry, run now, close), each behind a confirmation page with a POST form and CSRF, and the
same confirmation for list actions that need one (a reason to revoke)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

CONFIRM_TEMPLATE = "admin/object_action_confirm.html"


@dataclass(frozen=True)
class ObjectAction:
    """One button. `perform` and `unavailable` name methods of the ModelAdmin:
    perform(request, obj, cleaned_data) -> HttpResponse | None (None: back to the change page;
    it reports through message_user), unavailable(obj) -> why it cannot be done now, or ""."""

    name: str  # URL segment: <object id>/<name>/
    label: str  # the button, the page title and the submit button
    permission: str  # "app_label.codename"
    perform: str
    question: str = ""  # above the form; "{obj}" is replaced by the object
    form: type[forms.Form] | None = None
    unavailable: str = ""
    danger: bool = False


class ObjectActionsMixin(admin.ModelAdmin):
    object_actions: tuple[ObjectAction, ...] = ()
    change_form_template = "admin/change_form_with_actions.html"

    def get_urls(self) -> list[URLPattern]:
        opts = self.opts
        urls = [
            path(
                f"<path:object_id>/{action.name}/",
                self.admin_site.admin_view(self._view_for(action)),
                name=f"{opts.app_label}_{opts.model_name}_{action.name}",
            )
            for action in self.object_actions
        ]
        return [*urls, *super().get_urls()]

    def _view_for(self, action: ObjectAction) -> Any:
        def view(request: HttpRequest, object_id: str) -> HttpResponse:
            return self.object_action_view(request, object_id, action)

        return view

    def _why_not(self, action: ObjectAction, obj: Model) -> str:
        return getattr(self, action.unavailable)(obj) if action.unavailable else ""

    def object_action_buttons(self, request: HttpRequest, obj: Model) -> list[dict[str, Any]]:
        opts = self.opts
        return [
            {
                "label": action.label,
                "danger": action.danger,
                "name": action.name,
                "url": reverse(
                    f"admin:{opts.app_label}_{opts.model_name}_{action.name}", args=[quote(obj.pk)]
                ),
            }
            for action in self.object_actions
            if request.user.has_perm(action.permission) and not self._why_not(action, obj)
        ]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Model | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context["object_actions"] = self.object_action_buttons(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def change_url(self, obj: Model) -> str:
        opts = self.opts
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(obj.pk)])

    def object_action_view(
        self, request: HttpRequest, object_id: str, action: ObjectAction
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not request.user.has_perm(action.permission):
            raise PermissionDenied
        form_class = action.form or forms.Form
        why_not = self._why_not(action, obj)
        if request.method == "POST":
            form = form_class(request.POST)
            if not why_not and form.is_valid():
                try:
                    response = getattr(self, action.perform)(request, obj, form.cleaned_data)
                except ValidationError as exc:
                    form.add_error(None, "; ".join(exc.messages))
                else:
                    return response or HttpResponseRedirect(self.change_url(obj))
        else:
            wanted = {k: v for k, v in request.GET.items() if k in form_class.base_fields}
            form = form_class(initial=wanted)
        return confirmation_page(
            self,
            request,
            title=action.label,
            question=action.question.format(obj=obj),
            objects=[obj],
            form=form,
            danger=action.danger,
            unavailable=why_not,
            cancel_url=self.change_url(obj),
        )


def confirmation_page(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    title: str,
    question: str,
    objects: Iterable[Model],
    form: forms.Form,
    cancel_url: str,
    danger: bool = False,
    unavailable: str = "",
    hidden: Iterable[tuple[str, Any]] = (),
) -> TemplateResponse:
    opts = model_admin.opts
    listed = [
        (obj, reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(obj.pk)]))
        for obj in objects
    ]
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": opts,
        "title": title,
        "question": question,
        "objects": listed,
        "form": form,
        "danger": danger,
        "unavailable": unavailable,
        "hidden": list(hidden),
        "cancel_url": cancel_url,
    }
    return TemplateResponse(request, CONFIRM_TEMPLATE, context)


def confirmed_selection(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    action: str,
    title: str,
    question: str,
    form_class: type[forms.Form],
    danger: bool = False,
) -> dict[str, Any] | TemplateResponse:
    """For a list action that needs confirmation or input: the cleaned form once the person
    confirmed, otherwise the confirmation page (return it from the action)."""
    form = form_class(request.POST if "confirmed" in request.POST else None)
    if form.is_bound and form.is_valid():
        return form.cleaned_data
    opts = model_admin.opts
    hidden = [
        ("action", action),
        ("confirmed", "yes"),
        *((admin.helpers.ACTION_CHECKBOX_NAME, obj.pk) for obj in queryset),
    ]
    return confirmation_page(
        model_admin,
        request,
        title=title,
        question=question,
        objects=queryset,
        form=form,
        danger=danger,
        hidden=hidden,
        cancel_url=reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
    )


def grace_period_form(old: str, max_hours: int, default_hours: int = 24) -> type[forms.Form]:
    """A form asking how long the `old` secret keeps working beside its successor."""

    class GracePeriodForm(forms.Form):
        grace_hours = forms.IntegerField(
            label="Grace period (hours)",
            min_value=0,
            max_value=max_hours,
            initial=default_hours,
            help_text=f"How long the {old} keeps working beside the new one (0: it stops now; "
            f"at most {max_hours} hours).",
        )

    return GracePeriodForm
