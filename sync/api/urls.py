from __future__ import annotations

from eqms_integration.api.routers import OptionalSlashRouter
from sync.api.views import ConnectionViewSet

router = OptionalSlashRouter()
router.register("sync/connections", ConnectionViewSet, basename="sync-connection")

urlpatterns = router.urls
