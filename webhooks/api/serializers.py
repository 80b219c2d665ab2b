"""Shapes of the webhooks API. Validation of types and ranges here; rules in the services."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from webhooks.models import (
    SUBSCRIBABLE_EVENTS,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from webhooks.payload_access import payload_readable, subscription_refusal
from webhooks.services.subscriptions import (
    DEFAULT_GRACE_SECONDS,
    MAX_GRACE_SECONDS,
    redacted_headers,
)


class SubscriptionSerializer(serializers.ModelSerializer):
    url = serializers.CharField(max_length=2000)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=SUBSCRIBABLE_EVENTS), allow_empty=False
    )
    # Without them (and without retry_schedule) a new subscription retries by the default
    # schedule; giving either chooses the exponential policy (webhooks/backoff.py).
    max_retries = serializers.IntegerField(min_value=0, max_value=10, required=False)
    retry_delay_seconds = serializers.IntegerField(min_value=10, max_value=3600, required=False)
    custom_headers = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=4096), required=False
    )
    secret_rotation_ends_at = serializers.DateTimeField(
        source="previous_secret_expires_at",
        read_only=True,
        allow_null=True,
        help_text="While the previous secret still signs beside the new one: when it stops. "
        "null outside a rotation.",
    )

    class Meta:
        model = WebhookSubscription
        fields = (
            "id",
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
            "consecutive_failures",
            "failing_since",
            "disabled_reason",
            "disabled_at",
            "secret_rotation_ends_at",
            "created_at",
            "updated_at",
        )
        read_only_fields = (
            "id",
            "consecutive_failures",
            "failing_since",
            "disabled_reason",
            "disabled_at",
            "created_at",
            "updated_at",
        )

    def to_representation(self, instance: WebhookSubscription) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["custom_headers"] = redacted_headers(instance)  # values never leave in clear
        return data

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Aiming NCR or CAPA events (or sync and API-key events, PAYLOAD_ACCESS) at a URL (a
        new subscription, or a change of its URL or events) sends the records there: it
        takes what reading them takes, as reading a delivery's payload does. Otherwise
        webhooks:manage would read every NCR by subscribing a receiver of its own."""
        request = self.context.get("request")
        aims = self.instance is None or "url" in attrs or "events" in attrs
        if request is None or not aims:
            return attrs
        events = attrs.get("events", getattr(self.instance, "events", []))
        refusal = subscription_refusal(request, events)
        if refusal:
            raise serializers.ValidationError({"events": refusal})
        return attrs


class SubscriptionCreatedSerializer(SubscriptionSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown only in this response.")

    class Meta(SubscriptionSerializer.Meta):
        fields = (*SubscriptionSerializer.Meta.fields, "secret")


class RegenerateSecretSerializer(serializers.Serializer):
    grace_period_seconds = serializers.IntegerField(
        min_value=0, max_value=MAX_GRACE_SECONDS, default=DEFAULT_GRACE_SECONDS
    )


class NewSecretSerializer(serializers.Serializer):
    secret = serializers.CharField()
    previous_secret_valid_until = serializers.DateTimeField(allow_null=True)


class AttemptSerializer(serializers.ModelSerializer):
    response_body = serializers.CharField(
        allow_null=True, help_text="The receiver's answer (5,000 characters at most)."
    )

    class Meta:
        model = WebhookAttempt
        fields = (
            "number",
            "started_at",
            "duration_ms",
            "status_code",
            "succeeded",
            "error",
            "response_body",
        )


class DeliverySerializer(serializers.ModelSerializer):
    message_id = serializers.CharField(source="event.message_id", read_only=True)
    event_type = serializers.CharField(source="event.event_type", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = (
            "id",
            "subscription",
            "message_id",
            "event_type",
            "status",
            "attempt_count",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "completed_at",
        )
        read_only_fields = fields


class DeliveryDetailSerializer(DeliverySerializer):
    payload = serializers.CharField(
        source="event.payload",
        read_only=True,
        allow_null=True,
        help_text="The exact JSON body sent. null when `payload_redacted`.",
    )
    payload_redacted = serializers.SerializerMethodField(
        help_text="true when the reader may not read what the event carries (an NCR or CAPA: "
        "an API key without `ncr:read` / `capa:read`; a sync run or conflict: without "
        "`sync:read`; an API key: any key; a user without the view permission): `payload` "
        "and the attempts' `response_body` are null then."
    )
    attempts = AttemptSerializer(many=True, read_only=True)

    class Meta(DeliverySerializer.Meta):
        fields = (*DeliverySerializer.Meta.fields, "payload", "payload_redacted", "attempts")
        read_only_fields = fields

    def get_payload_redacted(self, delivery: WebhookDelivery) -> bool:
        return not payload_readable(self.context["request"], delivery.event.event_type)

    def to_representation(self, delivery: WebhookDelivery) -> dict[str, Any]:
        data = super().to_representation(delivery)
        if data["payload_redacted"]:
            # A receiver may echo the body it got, so its answers are withheld too.
            data["payload"] = None
            for attempt in data["attempts"]:
                attempt["response_body"] = None
        return data


class AttemptResultSerializer(serializers.Serializer):
    delivery_id = serializers.IntegerField(source="delivery.id")
    succeeded = serializers.BooleanField(help_text="The receiver answered 2xx.")
    status_code = serializers.IntegerField(
        allow_null=True, help_text="The receiver's HTTP status; null when none came back."
    )
    duration_ms = serializers.IntegerField()
    error = serializers.CharField(
        allow_blank=True,
        help_text="Why it failed (connection refused, timeout, the status…); empty on success.",
    )


class DeliveryRetryResultSerializer(AttemptResultSerializer):
    delivery_status = serializers.ChoiceField(
        choices=WebhookDelivery.Status.choices, help_text="The delivery's status afterwards."
    )
    at = serializers.DateTimeField(help_text="When the attempt was made.")


class StatusTotalsSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    delivering = serializers.IntegerField()
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()


class CircuitSerializer(serializers.Serializer):
    # A CharField, not a ChoiceField: another "state" enum exists in the schema.
    state = serializers.CharField(
        help_text="`closed`, or `open`: the receiver failed WEBHOOK_CIRCUIT_FAILURES attempts "
        "in a row; deliveries wait (no attempt spent) and one probe is sent per interval.",
    )
    opened_at = serializers.DateTimeField(allow_null=True)
    next_probe_at = serializers.DateTimeField(allow_null=True)
    failed_attempts_in_row = serializers.IntegerField()


class StatisticsSerializer(serializers.Serializer):
    days = serializers.IntegerField(help_text="The window: deliveries created this many days back.")
    total = serializers.IntegerField(help_text="Deliveries created in the window.")
    by_status = StatusTotalsSerializer()
    success_rate = serializers.FloatField(
        allow_null=True,
        help_text="succeeded / (succeeded + failed), from 0 to 1; null before any "
        "delivery finished.",
    )
    attempts = serializers.IntegerField(help_text="Attempts made in the window.")
    latency_ms_p50 = serializers.IntegerField(
        allow_null=True, help_text="Median attempt duration; null without attempts."
    )
    latency_ms_p95 = serializers.IntegerField(allow_null=True)
    consecutive_failures = serializers.IntegerField(
        help_text="Failed deliveries in a row now (the subscription is disabled at "
        "WEBHOOK_MAX_CONSECUTIVE_FAILURES)."
    )
    circuit = CircuitSerializer(help_text="The subscription's circuit breaker.")
    oldest_pending_age_seconds = serializers.IntegerField(
        allow_null=True, help_text="Age of the oldest delivery still waiting; null if none."
    )


class RequeuedSerializer(serializers.Serializer):
    requeued = serializers.IntegerField(help_text="Failed deliveries sent again.")


class DeliveryFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices, required=False)


class StatisticsQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=90, default=7)


class RecoverSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError({"until": "Must be after since."})
        return attrs


class WebhookEventTypeSerializer(serializers.Serializer):
    schema_description = "An event a subscription can choose, with the contract of its body."

    name = serializers.CharField(help_text="What to put in a subscription's `events`.")
    label = serializers.CharField(help_text="For people.")
    description = serializers.CharField(help_text="When it is sent.")
    version = serializers.IntegerField(
        help_text="The version of the payload's contract: raised when a field changes meaning "
        "or goes away (added fields raise it too: the schema allows no others)."
    )
    schema = serializers.DictField(
        help_text="JSON Schema (draft 2020-12) of the whole body a receiver gets: `id`, "
        "`event`, `timestamp` and `data`."
    )
    example = serializers.DictField(help_text="A body of this event; it validates against `schema`")
