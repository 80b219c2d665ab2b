from __future__ import annotations

from eqms_integration.api.routers import OptionalSlashRouter
from webhooks.api import views

router = OptionalSlashRouter()
# Registered first so `webhooks/deliveries/…` is never read as a subscription id.
router.register("webhooks/deliveries", views.WebhookDeliveryViewSet, basename="webhook-delivery")
router.register("webhooks/event-types", views.WebhookEventTypeViewSet, basename="webhook-events")
router.register("webhooks", views.WebhookSubscriptionViewSet, basename="webhook")

urlpatterns = router.urls
