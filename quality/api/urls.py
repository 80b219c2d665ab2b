from __future__ import annotations

from eqms_integration.api.routers import OptionalSlashRouter
from quality.api import views

router = OptionalSlashRouter()
router.register("ncrs", views.NCRViewSet, basename="ncr")
router.register("capas", views.CAPAViewSet, basename="capa")
router.register("equipment", views.EquipmentViewSet, basename="equipment")
router.register("suppliers", views.SupplierViewSet, basename="supplier")

urlpatterns = router.urls
