from __future__ import annotations

from django.apps import AppConfig


class UserCommandsConfig(AppConfig):
    name = "eqms_integration.user_commands"
    label = "eqms_user_commands"
    verbose_name = "Audited user commands"
