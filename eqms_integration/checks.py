"""System checks run by `manage.py check` (and `check --deploy`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from eqms_integration.encryption import validate_keys


@register(Tags.security)
def check_encryption_keys(app_configs: Any, **kwargs: Any) -> list:
    try:
        validate_keys()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="eqms.E001")]
    return []


@register(Tags.security, deploy=True)
def check_encryption_keys_set(app_configs: Any, **kwargs: Any) -> list:
    if settings.FIELD_ENCRYPTION_KEYS:
        return []
    return [
        Warning(
            "FIELD_ENCRYPTION_KEYS is not set: webhook secrets and sync credentials cannot be "
            "stored. Generate a key with `python manage.py generate_encryption_key`.",
            id="eqms.W001",
        )
    ]
