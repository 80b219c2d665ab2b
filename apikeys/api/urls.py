from __future__ import annotations

from apikeys.api.views import APIKeyViewSet
from eqms_integration.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("api-keys", APIKeyViewSet, basename="apikey")

urlpatterns = router.urls
