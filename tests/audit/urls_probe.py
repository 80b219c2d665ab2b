"""Test-only routes: the project's URLs plus a probe under /admin/ and one under /api/ that
record an audit event and answer what it says about who, how and from where."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit import services
from audit.models import AuditEvent
from eqms_integration.urls import urlpatterns as project_urls


def record_probe() -> dict:
    event = services.event_record(
        action="updated",
        object_type="ncr",
        object_id=7,
        object_repr="NCR-2026-0007",
        changes={"title": ["A", "B"]},
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    return {
        name: getattr(stored, name)
        for name in ("actor_type", "actor_id", "actor_name", "channel", "request_id", "client_ip")
    }


@csrf_exempt
@staff_member_required
def admin_probe(request: HttpRequest) -> JsonResponse:
    return JsonResponse(record_probe())


class APIProbe(APIView):
    required_permissions = {"post": "audit.view_auditevent"}
    required_scopes = {"post": "audit:read"}

    def post(self, request: Request) -> Response:
        return Response(record_probe())


urlpatterns = [
    path("admin/audit-probe/", admin_probe),
    path("api/audit-probe/", APIProbe.as_view()),
    *project_urls,
]
