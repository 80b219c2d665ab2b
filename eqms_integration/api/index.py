"""GET /api/: what the API offers, for integrators finding their way (public, as the schema
and its docs are: it names resources, it shows no data)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

# (name, URL name of its list route, what it is)
RESOURCES = (
    ("ncrs", "ncr-list", "Nonconformance reports: report, change, close."),
    ("capas", "capa-list", "Corrective and preventive actions: open, change, close."),
    ("equipment", "equipment-list", "Equipment master data."),
    ("suppliers", "supplier-list", "Supplier master data."),
    (
        "webhooks",
        "webhook-list",
        "Subscriptions of URLs to signed NCR, CAPA and operational events.",
    ),
    ("webhook-deliveries", "webhook-delivery-list", "Every event sent to a subscription."),
    ("sync-connections", "sync-connection-list", "External databases and REST APIs."),
    ("sync-configurations", "sync-configuration-list", "What moves where, which way, when."),
    ("sync-runs", "sync-run-list", "Sync runs with their counts and errors."),
    ("sync-conflicts", "sync-conflict-list", "Records changed on both sides, to resolve."),
    ("records", "sync-record-list", "Synced entities without a QMS model of their own."),
    ("api-keys", "apikey-list", "API keys of machine clients (Admin, session only)."),
    ("api-key-events", "apikeyevent-list", "The audit trail of every API key."),
)


class ResourceSerializer(serializers.Serializer):
    name = serializers.CharField()
    url = serializers.URLField(help_text="Its list endpoint.")
    description = serializers.CharField()


class IndexSerializer(serializers.Serializer):
    resources = ResourceSerializer(many=True)
    schema = serializers.URLField(help_text="This API's OpenAPI 3 schema.")
    docs = serializers.URLField(help_text="The schema as readable documentation.")


class APIIndexView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["Index"],
        summary="What this API offers",
        description="The resources of the API with the URL of each list, the OpenAPI schema "
        "and its documentation. Every list is paginated (`count`, `next`, `previous`, "
        "`results`).",
        responses=IndexSerializer,
        examples=[
            OpenApiExample(
                "Index",
                response_only=True,
                value={
                    "resources": [
                        {
                            "name": "ncrs",
                            "url": "https://eqms.example.com/api/ncrs/",
                            "description": RESOURCES[0][2],
                        }
                    ],
                    "schema": "https://eqms.example.com/api/schema/",
                    "docs": "https://eqms.example.com/api/docs/",
                },
            )
        ],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        def url(name: str) -> str:
            # Routes take an optional trailing slash; reversed, they lose it.
            return reverse(name, request=request).rstrip("/") + "/"

        resources = [
            {"name": name, "url": url(route), "description": text}
            for name, route, text in RESOURCES
        ]
        return Response(
            {"resources": resources, "schema": url("schema"), "docs": url("swagger-ui")}
        )
