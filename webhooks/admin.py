"""Admin screens: subscriptions (test, regenerate secret shown once, enable/disable, a 14-day
chart) and the delivery log (attempts inline, filters, retry). Actions call the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse

from audit.admin_history import AuditHistoryMixin
from eqms_integration import admin_secrets
from eqms_integration.admin_actions import (
    ObjectAction,
    ObjectActionsMixin,
    confirmed_selection,
    grace_period_form,
)
from eqms_integration.text import counted, plural
from webhooks import services
from webhooks.models import (
    SUBSCRIBABLE_EVENTS,
    EventType,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from webhooks.payload_access import payload_readable, subscription_refusal
from webhooks.services import subscriptions as subs
from webhooks.services.circuit import circuit_describe

DEFAULT_MAX_IN_FLIGHT = WebhookSubscription._meta.get_field("max_in_flight").default

FORM_FIELDS = (
    "name",
    "url",
    "events",
    "is_active",
    "retry_enabled",
    "max_retries",
    "retry_delay_seconds",
    "retry_schedule",
    "max_deliveries_per_second",
    "max_in_flight",
    "custom_headers",
)


class SubscriptionForm(forms.ModelForm):
    url = forms.CharField(max_length=2000, help_text="http(s) URL of the receiver.")
    events = forms.MultipleChoiceField(
        choices=[(e, EventType(e).label) for e in SUBSCRIBABLE_EVENTS],
        widget=forms.CheckboxSelectMultiple,
    )
    custom_headers = forms.JSONField(
        required=False,
        initial=dict,
        help_text='A JSON object, e.g. {"Authorization": "Bearer …"}. Values are stored '
        "encrypted and shown as ********; leave ******** to keep a value.",
    )

    max_in_flight = forms.IntegerField(
        min_value=1,
        max_value=1000,
        required=False,
        initial=DEFAULT_MAX_IN_FLIGHT,
        help_text="Deliveries being sent at the same time at most; empty: "
        f"{DEFAULT_MAX_IN_FLIGHT}.",
    )

    # The admin's request (WebhookSubscriptionAdmin.get_form): who aims events at the URL.
    request: HttpRequest | None = None

    class Meta:
        model = WebhookSubscription
        fields = FORM_FIELDS[:-1]

    def clean(self) -> dict[str, Any]:
        """Aiming NCR or CAPA events (or sync and API-key ones) at a URL takes what reading
        them takes, as in the REST API: a new subscription, or a change of its URL or events."""
        cleaned = super().clean()
        aims = self.instance.pk is None or {"url", "events"} & set(self.changed_data)
        if self.request is not None and aims and "events" in cleaned:
            refusal = subscription_refusal(self.request, cleaned["events"])
            if refusal:
                self.add_error("events", refusal)
        return cleaned

    def clean_max_in_flight(self) -> int:
        return self.cleaned_data.get("max_in_flight") or DEFAULT_MAX_IN_FLIGHT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["custom_headers"] = subs.redacted_headers(self.instance)

    def _check(self, field: str, check: Any, value: Any) -> Any:
        try:
            return check(value)
        except ValidationError as exc:
            for message in exc.message_dict.get(field, exc.messages):
                self.add_error(field, message)
            return value

    def clean_url(self) -> str:
        return self._check("url", subs.validate_url, self.cleaned_data["url"])

    def clean_custom_headers(self) -> dict[str, str]:
        value = self.cleaned_data.get("custom_headers") or {}
        if isinstance(value, dict):
            current = subs.custom_headers_of(self.instance) if self.instance.pk else {}
            value = {k: current.get(k, v) if v == subs.REDACTED else v for k, v in value.items()}
        return self._check("custom_headers", subs.validate_custom_headers, value)


RegenerateForm = grace_period_form("previous secret", subs.MAX_GRACE_SECONDS // 3600)


def _outcome(attempt: WebhookAttempt) -> str:
    """What one attempt came to, as the end of a sentence (no period of its own)."""
    if attempt.succeeded:
        return f"delivered ({attempt.status_code}) in {attempt.duration_ms} ms"
    if attempt.status_code:
        return f"the receiver answered {attempt.status_code} in {attempt.duration_ms} ms"
    return (attempt.error[:200] or "failed").rstrip(". ")


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(AuditHistoryMixin, ObjectActionsMixin, admin.ModelAdmin):
    audit_object_type = "webhook_subscription"
    form = SubscriptionForm
    change_form_template = "admin/webhooks/webhooksubscription/change_form.html"
    list_display = (
        "name",
        "url",
        "is_active",
        "event_list",
        "consecutive_failures",
        "disabled_reason",
    )
    list_filter = ("is_active",)
    search_fields = ("name", "url")
    readonly_fields = (
        "secret",
        "previous_secret_expires_at",
        "consecutive_failures",
        "failing_since",
        "circuit",
        "disabled_reason",
        "disabled_at",
        "created_at",
        "updated_at",
    )
    actions = ("send_test", "regenerate_secret", "enable", "disable")
    object_actions = (
        ObjectAction(
            "send-test",
            "Send a test webhook",
            "webhooks.change_webhooksubscription",
            "send_test_one",
            question="Send a signed webhook.test event to {obj} now? The answer is "
            "shown on the next page and the attempt joins the delivery log.",
        ),
        ObjectAction(
            "regenerate-secret",
            "Regenerate secret",
            "webhooks.change_webhooksubscription",
            "regenerate_one",
            form=RegenerateForm,
            question="Give {obj} a new signing secret? It is shown once, on the next "
            "page; receivers must be given it before the grace period ends.",
        ),
    )

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"request": request})

    @admin.display(description="circuit breaker")
    def circuit(self, obj: WebhookSubscription) -> str:
        return circuit_describe(obj)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return FORM_FIELDS if obj is None else (*FORM_FIELDS, *self.readonly_fields)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return () if obj is None else self.readonly_fields

    def get_urls(self) -> list[URLPattern]:
        shown = path(
            "secret/<str:token>/",
            self.admin_site.admin_view(self.secret_view),
            name="webhooks_webhooksubscription_secret",
        )
        return [shown, *super().get_urls()]

    @admin.display(description="events")
    def event_list(self, obj: WebhookSubscription) -> str:
        return ", ".join(obj.events)

    @admin.display(description="secret")
    def secret(self, obj: WebhookSubscription) -> str:
        return "whsec_•••••••• (shown only when created or regenerated)"

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = {name: form.cleaned_data[name] for name in FORM_FIELDS if name in form.cleaned_data}
        if change:
            saved = services.subscription_update(
                subscription=WebhookSubscription.objects.get(pk=obj.pk), data=data
            )
        else:
            saved, request._webhook_secret = services.subscription_create(**data)
        obj.pk = saved.pk
        obj.__dict__.update({f.attname: getattr(saved, f.attname) for f in saved._meta.fields})

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        subs.subscription_delete(subscription=obj)

    def delete_queryset(
        self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]
    ) -> None:
        for subscription in queryset:
            subs.subscription_delete(subscription=subscription)

    def response_add(self, request: HttpRequest, obj: Any, post_url_continue: Any = None) -> Any:
        return self._show_secrets(request, [(obj, request._webhook_secret)], grace_hours=None)

    def _show_secrets(
        self, request: HttpRequest, pairs: list[tuple[Any, str]], *, grace_hours: int | None
    ) -> HttpResponse:
        if grace_hours is None:
            details = "Give it to the receiver to verify the signatures."
        elif grace_hours:
            details = (
                "The previous secret keeps signing beside it for "
                f"{grace_hours} {plural(grace_hours, 'hour')}."
            )
        else:
            details = "The previous secret no longer signs."
        items = [
            {
                "name": sub.name,
                "url": self.change_url(sub),
                "label": "Signing secret",
                "secret": secret,
                "details": details,
            }
            for sub, secret in pairs
        ]
        token = admin_secrets.stash(request, items)
        return HttpResponseRedirect(
            reverse("admin:webhooks_webhooksubscription_secret", args=[token])
        )

    def secret_view(self, request: HttpRequest, token: str) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return admin_secrets.shown_once_page(
            request,
            token,
            context={**self.admin_site.each_context(request), "opts": self.opts},
            title="Webhook secret",
            note="Copy the secret now: it is shown only on this page and stored encrypted.",
            lost="If it is lost, regenerate the secret.",
            back_url=reverse("admin:webhooks_webhooksubscription_changelist"),
            back_label="back to the subscriptions",
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        subscription = WebhookSubscription.objects.filter(pk=object_id).first()
        extra = dict(extra_context or {})
        if subscription is not None:
            days = services.subscription_daily_outcomes(subscription=subscription, days=14)
            peak = max([d["total"] for d in days] + [1])
            for day in days:
                day["bars"] = [
                    (status, day[status], round(day[status] * 120 / peak))
                    for status in ("succeeded", "failed", "pending", "delivering")
                    if day[status]
                ]
            extra["chart_days"] = days
            extra["statistics"] = services.subscription_statistics(
                subscription=subscription, days=14
            )
        return super().change_view(request, object_id, form_url, extra)

    def _report_test(self, request: HttpRequest, subscription: WebhookSubscription) -> None:
        attempt = services.subscription_send_test(subscription=subscription)
        self.message_user(
            request,
            f"Test to {subscription.name}: {_outcome(attempt)}.",
            messages.SUCCESS if attempt.succeeded else messages.WARNING,
        )

    def send_test_one(self, request: HttpRequest, subscription: Any, data: dict) -> None:
        self._report_test(request, subscription)

    def regenerate_one(self, request: HttpRequest, subscription: Any, data: dict) -> HttpResponse:
        secret = services.subscription_regenerate_secret(
            subscription=subscription, grace_period_seconds=data["grace_hours"] * 3600
        )
        return self._show_secrets(
            request, [(subscription, secret)], grace_hours=data["grace_hours"]
        )

    @admin.action(description="Send a test webhook", permissions=["change"])
    def send_test(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for subscription in queryset:
            self._report_test(request, subscription)

    @admin.action(description="Regenerate secrets…", permissions=["change"])
    def regenerate_secret(
        self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]
    ) -> HttpResponse:
        confirmed = confirmed_selection(
            self,
            request,
            queryset,
            action="regenerate_secret",
            title="Regenerate secrets",
            question="Give each of these subscriptions a new signing secret? They are shown "
            "once, on the next page.",
            form_class=RegenerateForm,
        )
        if not isinstance(confirmed, dict):
            return confirmed
        hours = confirmed["grace_hours"]
        pairs = [
            (
                sub,
                services.subscription_regenerate_secret(
                    subscription=sub, grace_period_seconds=hours * 3600
                ),
            )
            for sub in queryset
        ]
        return self._show_secrets(request, pairs, grace_hours=hours)

    @admin.action(description="Enable selected subscriptions", permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for subscription in queryset:
            services.subscription_enable(subscription=subscription)
        self.message_user(request, f"Enabled {counted(queryset.count(), 'subscription')}.")

    @admin.action(description="Disable selected subscriptions", permissions=["change"])
    def disable(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        who = request.user.get_username()
        done = sum(
            services.subscription_disable(subscription_id=s.pk, reason=f"Disabled by {who}.")
            for s in queryset
        )
        self.message_user(request, f"Disabled {counted(done, 'subscription')}.")


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ("number", "started_at", "status_code", "duration_ms", "error", "response_body")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ObjectActionsMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "event_type",
        "subscription",
        "status",
        "attempt_count",
        "last_status_code",
        "created_at",
        "next_attempt_at",
    )
    list_filter = ("status", "event__event_type", "subscription")
    search_fields = ("event__message_id", "subscription__name", "last_error")
    list_select_related = ("event", "subscription")
    date_hierarchy = "created_at"
    inlines = (AttemptInline,)
    actions = ("retry_now",)
    object_actions = (
        ObjectAction(
            "retry",
            "Retry now",
            "webhooks.change_webhookdelivery",
            "retry_one",
            unavailable="cannot_retry",
            question="Send {obj} once more, now? A delivery that had given up stays "
            "given up if this attempt fails too.",
        ),
    )
    fields = (
        "event",
        "message_id",
        "subscription",
        "status",
        "attempt_count",
        "next_attempt_at",
        "lease_expires_at",
        "last_status_code",
        "last_error",
        "created_at",
        "completed_at",
        "payload",
    )
    readonly_fields = fields

    @admin.display(description="event", ordering="event__event_type")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.event_type

    @admin.display(description="webhook-id")
    def message_id(self, obj: WebhookDelivery) -> str:
        return obj.event.message_id

    @admin.display(description="payload")
    def payload(self, obj: WebhookDelivery) -> str:
        return obj.event.payload

    @admin.display(description="payload")
    def payload_withheld(self, obj: WebhookDelivery) -> str:
        return (
            "Withheld: reading it takes the permission to view what the event is about "
            "(as in the REST API)."
        )

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        """The payload only for those who may read it (webhooks/payload_access.py): an NCR
        event's to readers of NCRs, an API-key event's to people who may view keys."""
        fields = list(super().get_fields(request, obj))
        if obj is not None and not payload_readable(request, obj.event.event_type):
            fields[fields.index("payload")] = "payload_withheld"
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return self.get_fields(request, obj)  # nothing on this page is editable

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # history is removed by `prune_webhook_deliveries`

    def cannot_retry(self, delivery: WebhookDelivery) -> str:
        if not delivery.subscription.is_active:
            return "The subscription is disabled; enable it before retrying."
        return ""

    def _retry(self, request: HttpRequest, delivery: WebhookDelivery) -> None:
        attempt = services.delivery_retry_now(delivery=delivery)
        self.message_user(
            request,
            f"Delivery {delivery.pk}: {_outcome(attempt)}.",
            messages.SUCCESS if attempt.succeeded else messages.WARNING,
        )

    def retry_one(self, request: HttpRequest, delivery: Any, data: dict) -> None:
        self._retry(request, delivery)

    @admin.action(description="Retry now (one attempt each)", permissions=["change"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        for delivery in queryset.select_related("subscription"):
            try:
                self._retry(request, delivery)
            except ValidationError as exc:
                self.message_user(
                    request, f"Delivery {delivery.pk}: {'; '.join(exc.messages)}", messages.WARNING
                )
