"""REST endpoints for webhook subscriptions and their deliveries. Thin: validate, call a
service, serialize."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

from apikeys.principal import KeyPrincipal
from webhooks import catalogue, selectors, services
from webhooks.api import docs, serializers
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.services.subscriptions import subscription_delete

SUB = "webhooks.{}_webhooksubscription"
DELIVERY = "webhooks.{}_webhookdelivery"
READ, MANAGE = "webhooks:read", "webhooks:manage"


class WebhookTestThrottle(UserRateThrottle):
    """Test sends make outbound requests on demand: limited (WEBHOOK_TEST_RATE) per user, and
    per API key when a key authenticated the request (key users all have pk None, so the
    per-user bucket would make every key share one)."""

    scope = "webhook_test"

    def get_rate(self) -> str:
        return settings.WEBHOOK_TEST_RATE

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, KeyPrincipal):
            ident = f"key-{request.auth.key_id}"
            return self.cache_format % {"scope": self.scope, "ident": ident}
        return super().get_cache_key(request, view)


@docs.subscription_docs
class WebhookSubscriptionViewSet(viewsets.ModelViewSet):
    queryset = WebhookSubscription.objects.all()
    serializer_class = serializers.SubscriptionSerializer
    lookup_value_regex = r"\d+"
    filterset_fields = ("is_active",)
    search_fields = ("name", "url")
    ordering_fields = ("name", "created_at", "updated_at", "consecutive_failures")
    required_permissions = {
        "list": SUB.format("view"),
        "retrieve": SUB.format("view"),
        "statistics": SUB.format("view"),
        "deliveries": DELIVERY.format("view"),
        "create": SUB.format("add"),
        "update": SUB.format("change"),
        "partial_update": SUB.format("change"),
        "regenerate_secret": SUB.format("change"),
        "test": SUB.format("change"),
        "destroy": SUB.format("delete"),
        "recover": DELIVERY.format("change"),
    }
    required_scopes = {
        **dict.fromkeys(("list", "retrieve", "statistics", "deliveries"), READ),
        **dict.fromkeys(
            (
                "create",
                "update",
                "partial_update",
                "destroy",
                "regenerate_secret",
                "test",
                "recover",
            ),
            MANAGE,
        ),
    }

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription, secret = services.subscription_create(**serializer.validated_data)
        data = serializers.SubscriptionSerializer(subscription).data
        return Response({**data, "secret": secret}, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        subscription = self.get_object()
        serializer = self.get_serializer(subscription, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        subscription = services.subscription_update(
            subscription=subscription, data=dict(serializer.validated_data)
        )
        return Response(self.get_serializer(subscription).data)

    def perform_destroy(self, instance: WebhookSubscription) -> None:
        subscription_delete(subscription=instance)

    @action(detail=True, methods=["post"], url_path="regenerate-secret")
    def regenerate_secret(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        subscription = self.get_object()
        body = serializers.RegenerateSecretSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        secret = services.subscription_regenerate_secret(
            subscription=subscription, **body.validated_data
        )
        return Response(
            {
                "secret": secret,
                "previous_secret_valid_until": subscription.previous_secret_expires_at,
            }
        )

    @action(
        detail=True,
        methods=["post"],
        # On top of the defaults (a key's own per-minute limit), not instead of them.
        throttle_classes=[*api_settings.DEFAULT_THROTTLE_CLASSES, WebhookTestThrottle],
    )
    def test(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        attempt = services.subscription_send_test(subscription=self.get_object())
        return Response(serializers.AttemptResultSerializer(attempt).data)

    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = serializers.DeliveryFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = selectors.deliveries_list(
            subscription=self.get_object(), status=query.validated_data.get("status")
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(serializers.DeliverySerializer(page, many=True).data)

    @action(detail=True, methods=["get"])
    def statistics(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = serializers.StatisticsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        stats = services.subscription_statistics(
            subscription=self.get_object(), days=query.validated_data["days"]
        )
        return Response(stats)

    @action(detail=True, methods=["post"])
    def recover(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        subscription = self.get_object()
        body = serializers.RecoverSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if not subscription.is_active:
            return _disabled_response()
        count = services.deliveries_requeue(subscription=subscription, **body.validated_data)
        return Response({"requeued": count}, status=status.HTTP_202_ACCEPTED)


def _disabled_response() -> Response:
    from eqms_integration.api.exceptions import error_body

    return Response(
        error_body(
            "validation_error",
            "The subscription is disabled; enable it first.",
            {"is_active": ["The subscription is disabled; enable it first."]},
        ),
        status=status.HTTP_400_BAD_REQUEST,
    )


@docs.delivery_docs
class WebhookDeliveryViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = serializers.DeliverySerializer
    lookup_value_regex = r"\d+"
    filterset_fields = ("status", "subscription", "event__event_type")
    ordering_fields = ("created_at", "next_attempt_at", "attempt_count")
    required_permissions = {
        "list": DELIVERY.format("view"),
        "retrieve": DELIVERY.format("view"),
        "retry": DELIVERY.format("change"),
    }
    required_scopes = {"list": READ, "retrieve": READ, "retry": MANAGE}

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        rows = selectors.deliveries_list()
        return rows.prefetch_related("attempts") if self.action == "retrieve" else rows

    def get_serializer_class(self) -> type[serializers.DeliverySerializer]:
        if self.action == "retrieve":
            return serializers.DeliveryDetailSerializer
        return serializers.DeliverySerializer

    @action(detail=True, methods=["post"])
    def retry(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        attempt = services.delivery_retry_now(delivery=self.get_object())
        return Response(
            {
                **serializers.AttemptResultSerializer(attempt).data,
                "delivery_status": attempt.delivery.status,
                "at": timezone.now(),
            }
        )


@docs.event_type_docs
class WebhookEventTypeViewSet(viewsets.GenericViewSet):
    """The event catalogue: read-only, the same for everybody who may read subscriptions."""

    serializer_class = serializers.WebhookEventTypeSerializer
    filter_backends: list = []
    required_permissions = {"list": SUB.format("view")}
    required_scopes = {"list": READ}

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(list(catalogue.event_types()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
