from __future__ import annotations

from eqms_integration.api.routers import OptionalSlashRouter
from sync.api.conflicts import SyncConflictViewSet, SyncRecordViewSet
from sync.api.views import ConnectionViewSet, SyncConfigurationViewSet, SyncRunViewSet

router = OptionalSlashRouter()
router.register("sync/connections", ConnectionViewSet, basename="sync-connection")
router.register("sync/configurations", SyncConfigurationViewSet, basename="sync-configuration")
router.register("sync/logs", SyncRunViewSet, basename="sync-run")
router.register("sync/conflicts", SyncConflictViewSet, basename="sync-conflict")
router.register("records", SyncRecordViewSet, basename="sync-record")

urlpatterns = router.urls
