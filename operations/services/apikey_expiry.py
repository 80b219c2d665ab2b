"""`apikey.expiring`: one alert per key and expiry date, APIKEY_EXPIRY_WARNING_DAYS ahead.
A key whose expiry is moved gets a new alert for the new date."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from apikeys.selectors import keys_expiring
from operations import occurrences
from operations.models import Alert, AlertKind
from operations.services.alerts import target_of


def apikey_expiry_alerts() -> int:
    """Alert every key expiring soon that has no alert for its current expiry; how many."""
    now = timezone.now()
    keys = list(keys_expiring(now, settings.APIKEY_EXPIRY_WARNING_DAYS))
    if not keys:
        return 0
    alerted = set(
        Alert.objects.filter(
            kind=AlertKind.APIKEY_EXPIRING, target__in=[target_of(key) for key in keys]
        ).values_list("target", "occurrence")
    )
    sent = 0
    for key in keys:
        occurrence = key.expires_at.isoformat()
        if (target_of(key), occurrence) in alerted:
            continue
        days = (key.expires_at - now).total_seconds() / 86400
        whole = round(days)
        when = "in less than a day" if days < 1 else f"in {whole} day{'s' if whole != 1 else ''}"
        reason = (
            f"The API key {key.name} ({key.key_preview}) expires on "
            f"{key.expires_at:%Y-%m-%d %H:%M} UTC, {when}. Rotate it and give the new key to "
            "its system before then, or extend its expiry."
        )
        if occurrences.apikey_expiring(key=key, reason=reason, occurrence=occurrence):
            sent += 1
    return sent
