"""Admin screens for API keys: create (key shown once), revoke, rotate, audit trail."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils import formats, timezone

from apikeys import selectors, services
from apikeys.forms import APIKeyForm
from apikeys.models import APIKey, APIKeyEvent
from apikeys.services.lifecycle import MAX_ROTATION_GRACE
from audit.admin_history import AuditHistoryMixin
from eqms_integration import admin_secrets
from eqms_integration.admin_actions import (
    ObjectAction,
    ObjectActionsMixin,
    confirmed_selection,
    grace_period_form,
)
from eqms_integration.api.client_ip import client_ip
from eqms_integration.text import counted


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("active", "Active"),
            ("expired", "Expired"),
            ("revoked", "Revoked"),
            ("never_used", "Never used"),
            ("unused_90", "Unused for 90 days"),
            ("expiring", f"Expiring within {settings.APIKEY_EXPIRY_WARNING_DAYS} days"),
            ("idle_90", "Active, unused for 90 days"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> QuerySet[APIKey]:
        now = timezone.now()
        live = Q(is_active=True, revoked_at__isnull=True)
        not_expired = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        match self.value():
            case "active":
                return queryset.filter(live & not_expired)
            case "expired":
                return queryset.filter(live, expires_at__lte=now)
            case "revoked":
                return queryset.exclude(live)
            case "never_used":
                return queryset.filter(last_used_at__isnull=True)
            case "unused_90":
                cutoff = now - timedelta(days=90)
                return queryset.filter(
                    Q(last_used_at__lt=cutoff) | Q(last_used_at__isnull=True, created_at__lt=cutoff)
                )
            case "expiring":  # the operations dashboard's lines, by the same selectors
                days = settings.APIKEY_EXPIRY_WARNING_DAYS
                return queryset.filter(pk__in=selectors.keys_expiring(now, days).values("pk"))
            case "idle_90":
                return queryset.filter(pk__in=selectors.keys_unused(now).values("pk"))
        return queryset


class APIKeyEventInline(admin.TabularInline):
    model = APIKeyEvent
    fields = ("created_at", "event_type", "actor_repr", "ip", "details")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-created_at",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RevokeForm(forms.Form):
    reason = forms.CharField(
        max_length=255,
        widget=forms.TextInput(attrs={"size": 80}),
        help_text="Why the key is revoked (kept in its audit trail), e.g. 'leaked in a log'.",
    )


RotateForm = grace_period_form("old key", int(MAX_ROTATION_GRACE.total_seconds()) // 3600)


@admin.register(APIKey)
class APIKeyAdmin(AuditHistoryMixin, ObjectActionsMixin, admin.ModelAdmin):
    form = APIKeyForm
    audit_object_type = "api_key"  # History: the key's audit trail from every channel
    list_display = (
        "name",
        "key_preview",
        "state",
        "scope_list",
        "expires_at",
        "last_used_at",
        "usage_count",
        "created_at",
    )
    list_filter = (StateFilter, "created_at")
    search_fields = ("name", "key_id", "description")
    readonly_fields = (
        "key_id",
        "key_preview",
        "secret_hash",
        "state",
        "revoked_at",
        "revoked_by",
        "revocation_reason",
        "rotated_from",
        "last_used_at",
        "last_used_ip",
        "usage_count",
        "generation",
        "created_by",
        "created_at",
        "updated_at",
    )
    inlines = (APIKeyEventInline,)
    actions = ("revoke_selected", "rotate_selected")
    object_actions = (
        ObjectAction(
            "revoke",
            "Revoke",
            "apikeys.revoke_apikey",
            "revoke_one",
            danger=True,
            form=RevokeForm,
            unavailable="cannot_revoke",
            question="Revoke {obj}? It is refused from its next request on; this cannot be undone.",
        ),
        ObjectAction(
            "rotate",
            "Rotate",
            "apikeys.rotate_apikey",
            "rotate_one",
            form=RotateForm,
            unavailable="cannot_rotate",
            question="Issue a successor of {obj} with the same name, scopes and "
            "limits? The new key is shown once, on the next page.",
        ),
    )

    def get_fieldsets(self, request: HttpRequest, obj: APIKey | None = None) -> Any:
        editable = (
            "name",
            "description",
            "scopes",
            "allowed_networks",
            "expires_at",
            "rate_limit_per_minute",
        )
        if obj is None:
            return [(None, {"fields": editable})]
        return [
            (None, {"fields": editable}),
            ("Identity and state", {"fields": self.readonly_fields}),
        ]

    def get_inlines(self, request: HttpRequest, obj: APIKey | None) -> Any:
        return self.inlines if obj is not None else ()  # a new key has no events yet

    def get_urls(self) -> list[URLPattern]:
        issued = path(
            "issued/<str:token>/",
            self.admin_site.admin_view(self.issued_view),
            name="apikeys_apikey_issued",
        )
        return [issued, *super().get_urls()]

    @admin.display(description="scopes")
    def scope_list(self, obj: APIKey) -> str:
        return ", ".join(obj.scopes)

    def save_model(self, request: HttpRequest, obj: APIKey, form: Any, change: bool) -> None:
        who = {"actor": request.user, "ip": client_ip(request)}
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        if change:
            changed = {name: data[name] for name in form.changed_data if name in data}
            saved = services.apikey_update(key=APIKey.objects.get(pk=obj.pk), data=changed, **who)
        else:
            issued = services.apikey_create(**data, **who)
            request._issued_api_keys = [issued]  # handed to response_add, never stored in clear
            saved = issued.api_key
        obj.pk = saved.pk
        obj.__dict__.update({f.attname: getattr(saved, f.attname) for f in saved._meta.fields})

    def response_add(
        self, request: HttpRequest, obj: APIKey, post_url_continue: Any = None
    ) -> HttpResponse:
        return self._show_issued(request, request._issued_api_keys)

    def _show_issued(self, request: HttpRequest, issued: list[services.IssuedKey]) -> HttpResponse:
        items = [
            {
                "name": key.api_key.name,
                "url": self.change_url(key.api_key),
                "label": "Key",
                "secret": key.key,
                "details": _key_details(key.api_key),
            }
            for key in issued
        ]
        token = admin_secrets.stash(request, items)
        return HttpResponseRedirect(reverse("admin:apikeys_apikey_issued", args=[token]))

    def issued_view(self, request: HttpRequest, token: str) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return admin_secrets.shown_once_page(
            request,
            token,
            context={**self.admin_site.each_context(request), "opts": self.opts},
            title="API key issued",
            note="Copy the key now. It is shown only on this page and is not stored anywhere "
            "(only its bcrypt hash is).",
            lost="If it is lost, rotate the key to get a new one.",
            back_url=reverse("admin:apikeys_apikey_changelist"),
            back_label="back to the API keys",
        )

    def delete_model(self, request: HttpRequest, obj: APIKey) -> None:
        services.apikey_delete(key=obj, actor=request.user, ip=client_ip(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> None:
        for key in queryset:
            self.delete_model(request, key)

    def cannot_revoke(self, key: APIKey) -> str:
        return "This key is already revoked." if key.revoked_at else ""

    def cannot_rotate(self, key: APIKey) -> str:
        return f"A {key.state} key cannot be rotated." if key.state != "active" else ""

    def revoke_one(self, request: HttpRequest, key: APIKey, data: dict[str, Any]) -> None:
        services.apikey_revoke(
            key=key, reason=data["reason"], actor=request.user, ip=client_ip(request)
        )
        self.message_user(request, f"Revoked {key.name} ({key.key_preview}).", messages.SUCCESS)

    def rotate_one(self, request: HttpRequest, key: APIKey, data: dict[str, Any]) -> HttpResponse:
        grace = timedelta(hours=data["grace_hours"])
        issued = services.apikey_rotate(
            key=key, grace=grace, actor=request.user, ip=client_ip(request)
        )
        return self._show_issued(request, [issued])

    @admin.action(description="Revoke selected API keys…", permissions=["revoke"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> Any:
        confirmed = confirmed_selection(
            self,
            request,
            queryset,
            action="revoke_selected",
            title="Revoke API keys",
            question="Revoke these keys? Each is refused from its next request on; this cannot "
            "be undone.",
            form_class=RevokeForm,
            danger=True,
        )
        if not isinstance(confirmed, dict):
            return confirmed
        revoked = 0
        for key in queryset:
            try:
                services.apikey_revoke(
                    key=key,
                    reason=confirmed["reason"],
                    actor=request.user,
                    ip=client_ip(request),
                )
                revoked += 1
            except ValidationError as exc:
                self.message_user(request, "; ".join(exc.messages), messages.WARNING)
        if revoked:
            self.message_user(request, f"Revoked {counted(revoked, 'key')}.", messages.SUCCESS)
        return None

    @admin.action(description="Rotate selected API keys…", permissions=["rotate"])
    def rotate_selected(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> Any:
        confirmed = confirmed_selection(
            self,
            request,
            queryset,
            action="rotate_selected",
            title="Rotate API keys",
            question="Issue a successor of each of these keys? The new keys are shown once, on "
            "the next page.",
            form_class=RotateForm,
        )
        if not isinstance(confirmed, dict):
            return confirmed
        grace, issued = timedelta(hours=confirmed["grace_hours"]), []
        for key in queryset:
            try:
                issued.append(
                    services.apikey_rotate(
                        key=key, grace=grace, actor=request.user, ip=client_ip(request)
                    )
                )
            except ValidationError as exc:
                self.message_user(request, "; ".join(exc.messages), messages.WARNING)
        return self._show_issued(request, issued) if issued else None

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("apikeys.revoke_apikey")

    def has_rotate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("apikeys.rotate_apikey")


def _key_details(key: APIKey) -> str:
    details = f"Scopes: {', '.join(key.scopes)}"
    if key.expires_at:
        expires = formats.date_format(timezone.localtime(key.expires_at), "DATETIME_FORMAT")
        details += f" · expires {expires}"
    return details


def key_name(event: APIKeyEvent) -> str:
    """The key's name, also once the key is deleted (its deletion event keeps the name)."""
    if event.api_key is not None:
        return event.api_key.name
    deletion = (
        event
        if event.event_type == APIKeyEvent.Type.DELETED
        else (
            APIKeyEvent.objects.filter(key_id=event.key_id, event_type=APIKeyEvent.Type.DELETED)
            .only("details")
            .first()
        )
    )
    name = deletion.details.get("name") if deletion else None
    return f"{name} (deleted)" if name else "(deleted key)"


@admin.register(APIKeyEvent)
class APIKeyEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "key", "key_id", "event_type", "actor_repr", "ip")
    list_filter = ("event_type", "created_at")
    search_fields = ("key_id", "api_key__name", "actor_repr", "ip")
    list_select_related = ("api_key",)
    readonly_fields = (
        "key",
        "api_key",
        "key_id",
        "event_type",
        "actor",
        "actor_repr",
        "ip",
        "details",
        "created_at",
    )

    @admin.display(description="key", ordering="api_key__name")
    def key(self, obj: APIKeyEvent) -> str:
        return key_name(obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
