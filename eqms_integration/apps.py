from __future__ import annotations

from django.apps import AppConfig


class EqmsIntegrationConfig(AppConfig):
    name = "eqms_integration"
    verbose_name = "E-QMS Integration Layer"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from eqms_integration import checks  # noqa: F401  (registers the system checks)
        from eqms_integration.roles import sync_roles_after_migrate

        # Later migrations add models (and so permissions); keep the roles in step with them.
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="eqms_sync_roles")
