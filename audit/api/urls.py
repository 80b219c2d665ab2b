from __future__ import annotations

from audit.api.views import AuditEventViewSet
from eqms_integration.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("audit-events", AuditEventViewSet, basename="auditevent")

urlpatterns = router.urls
