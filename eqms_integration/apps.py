from __future__ import annotations

from django.apps import AppConfig


class EqmsIntegrationConfig(AppConfig):
    name = "eqms_integration"
    verbose_name = "E-QMS Integration Layer"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate

        from eqms_integration import checks  # noqa: F401  (registers the system checks)
        from eqms_integration.outages import database_connected
        from eqms_integration.roles import sync_roles_after_migrate

        # Later migrations add models (and so permissions); keep the roles in step with them.
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="eqms_sync_roles")
        # A new connection after a database outage ends it (and logs that it is back).
        connection_created.connect(database_connected, dispatch_uid="eqms_database_back")
