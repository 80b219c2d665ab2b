"""Create the Admin, Manager and Auditor groups with the permission matrix of roles.py."""

from __future__ import annotations

from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_roles(apps, schema_editor):
    from eqms_integration.roles import sync_roles

    # Permissions are normally created after migrate; create them now so the groups get them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
        app_config.models_module = None
    sync_roles(
        apps.get_model("auth", "Group"),
        apps.get_model("auth", "Permission"),
        using=schema_editor.connection.alias,
    )


def remove_roles(apps, schema_editor):
    from eqms_integration.roles import ROLE_MATRIX

    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_MATRIX).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("quality", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
