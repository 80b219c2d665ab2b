"""Top-level routes: admin, the REST API under /api/, its schema and docs, health probes."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from eqms_integration import health, metrics_endpoint
from eqms_integration.admin_login import CappedAdminAuthenticationForm
from eqms_integration.api.errors import (
    api_aware_400,
    api_aware_403,
    api_aware_404,
    api_aware_500,
    api_not_found,
)
from eqms_integration.api.index import APIIndexView

admin.site.site_header = "E-QMS Integration Layer"
admin.site.site_title = "E-QMS Integration"
admin.site.index_title = "Administration"
admin.site.login_form = CappedAdminAuthenticationForm  # password guessing is capped per address

# The schema, its viewer and the index (GET /api/) are public on purpose: integrators read
# them before they have a key, and they show no data.
schema_view = SpectacularAPIView.as_view(permission_classes=[AllowAny])
docs_view = SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[AllowAny])

urlpatterns = [
    path("", TemplateView.as_view(template_name="index.html"), name="index"),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_endpoint.metrics, name="metrics"),
    re_path(r"^api/schema/?$", schema_view, name="schema"),
    re_path(r"^api/docs/?$", docs_view, name="swagger-ui"),
    re_path(r"^api/?$", APIIndexView.as_view(), name="api-index"),
    path("api/", include("quality.api.urls")),
    path("api/", include("apikeys.api.urls")),
    path("api/", include("sync.api.urls")),
    path("api/", include("webhooks.api.urls")),
    path("api/", include("audit.api.urls")),
    # Last: any other API path is a JSON 404, with DEBUG on too (handler404 is not used then).
    re_path(r"^api/", api_not_found),
]

handler400 = api_aware_400
handler403 = api_aware_403
handler404 = api_aware_404
handler500 = api_aware_500
