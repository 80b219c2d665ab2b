"""Admin screens for API keys: create (key shown once), revoke, rotate, audit trail."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from apikeys import services
from apikeys.forms import APIKeyForm
from apikeys.models import APIKey, APIKeyEvent
from eqms_integration.api.client_ip import client_ip
from eqms_integration.text import counted

ISSUED_TEMPLATE = "admin/apikeys/apikey/key_issued.html"


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


@admin.register(APIKey)
class APIKeyAdmin(admin.ModelAdmin):
    form = APIKeyForm
    list_display = (
        "name", "key_preview", "state", "scope_list", "expires_at", "last_used_at",
        "usage_count", "created_at",
    )  # fmt: skip
    list_filter = (StateFilter, "created_at")
    search_fields = ("name", "key_id", "description")
    readonly_fields = (
        "key_id", "key_preview", "secret_hash", "state", "revoked_at", "revoked_by",
        "revocation_reason", "rotated_from", "last_used_at", "last_used_ip", "usage_count",
        "generation", "created_by", "created_at", "updated_at",
    )  # fmt: skip
    inlines = (APIKeyEventInline,)
    actions = ("revoke_selected", "rotate_selected")

    def get_fieldsets(self, request: HttpRequest, obj: APIKey | None = None) -> Any:
        editable = ("name", "description", "scopes", "allowed_networks", "expires_at",
                    "rate_limit_per_minute")  # fmt: skip
        if obj is None:
            return [(None, {"fields": editable})]
        return [
            (None, {"fields": editable}),
            ("Identity and state", {"fields": self.readonly_fields}),
        ]

    def get_inlines(self, request: HttpRequest, obj: APIKey | None) -> Any:
        return self.inlines if obj is not None else ()  # a new key has no events yet

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
            request._issued_api_keys = [issued]  # shown by response_add, never stored
            saved = issued.api_key
        obj.pk = saved.pk
        obj.__dict__.update({f.attname: getattr(saved, f.attname) for f in saved._meta.fields})

    def response_add(
        self, request: HttpRequest, obj: APIKey, post_url_continue: Any = None
    ) -> HttpResponse:
        return self._issued_page(request, request._issued_api_keys, "API key created")

    def _issued_page(self, request: HttpRequest, issued: list, heading: str) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "heading": heading,
            "issued_keys": issued,
            "title": heading,
        }
        response = TemplateResponse(request, ISSUED_TEMPLATE, context)
        response["Cache-Control"] = "no-store"
        return response

    def delete_model(self, request: HttpRequest, obj: APIKey) -> None:
        services.apikey_delete(key=obj, actor=request.user, ip=client_ip(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> None:
        for key in queryset:
            self.delete_model(request, key)

    @admin.action(description="Revoke selected API keys", permissions=["revoke"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> None:
        revoked = 0
        for key in queryset:
            try:
                services.apikey_revoke(
                    key=key, reason="Revoked in the admin", actor=request.user,
                    ip=client_ip(request),
                )  # fmt: skip
                revoked += 1
            except ValidationError as exc:
                self.message_user(request, "; ".join(exc.messages), messages.WARNING)
        if revoked:
            self.message_user(request, f"Revoked {counted(revoked, 'key')}.", messages.SUCCESS)

    @admin.action(description="Rotate selected API keys (24 h grace)", permissions=["rotate"])
    def rotate_selected(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> Any:
        issued = []
        for key in queryset:
            try:
                issued.append(
                    services.apikey_rotate(key=key, actor=request.user, ip=client_ip(request))
                )
            except ValidationError as exc:
                self.message_user(request, "; ".join(exc.messages), messages.WARNING)
        if issued:
            return self._issued_page(request, issued, "API keys rotated")
        return None

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("apikeys.revoke_apikey")

    def has_rotate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("apikeys.rotate_apikey")


@admin.register(APIKeyEvent)
class APIKeyEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "key_id", "event_type", "actor_repr", "ip")
    list_filter = ("event_type", "created_at")
    search_fields = ("key_id", "actor_repr", "ip")
    readonly_fields = (
        "api_key", "key_id", "event_type", "actor", "actor_repr", "ip", "details", "created_at",
    )  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
