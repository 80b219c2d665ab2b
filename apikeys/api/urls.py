from __future__ import annotations

from apikeys.api.views import APIKeyEventViewSet, APIKeyViewSet
from eqms_integration.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("api-keys", APIKeyViewSet, basename="apikey")
router.register("api-key-events", APIKeyEventViewSet, basename="apikeyevent")

urlpatterns = router.urls
