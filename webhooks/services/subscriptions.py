"""Subscriptions: create, change, rotate the secret, enable, disable and delete, each
recorded in the audit trail in the same transaction (who and through which channel come from
the audit context: a person in the admin, a key or user through the API, the service itself
in a task).

Secrets and custom header values are stored encrypted; the clear secret is returned only by
the calls that create it, so callers can show it once. Neither ever enters the audit trail:
it says only that a secret was set or changed, and which custom headers exist.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.changes import SECRET_CHANGED, SECRET_OLD, SECRET_SET
from eqms_integration import encryption
from eqms_integration.http_headers import CONNECTION_HEADERS, HEADER_NAME, header_value_problem
from eqms_integration.ssrf import WEBHOOKS, UnsafeURLError, url_check
from eqms_integration.text import plural
from webhooks.models import SUBSCRIBABLE_EVENTS, WebhookSubscription
from webhooks.services import subscription_trail as trail
from webhooks.services.pruning import deliveries_evidence_record
from webhooks.signing import RESERVED_HEADERS, secret_generate

DEFAULT_GRACE_SECONDS = 24 * 3600
MAX_GRACE_SECONDS = 30 * 24 * 3600
EDITABLE_FIELDS = (
    "name",
    "url",
    "events",
    "is_active",
    "retry_enabled",
    "max_retries",
    "retry_delay_seconds",
    "retry_schedule",
    "max_deliveries_per_second",
    "max_in_flight",
    "custom_headers",
)
REDACTED = "********"


def custom_headers_of(subscription: WebhookSubscription) -> dict[str, str]:
    if not subscription.custom_headers_encrypted:
        return {}
    return json.loads(encryption.decrypt(subscription.custom_headers_encrypted))


def redacted_headers(subscription: WebhookSubscription) -> dict[str, str]:
    return dict.fromkeys(custom_headers_of(subscription), REDACTED)


def secrets_in_use(subscription: WebhookSubscription, *, now: datetime) -> list[str]:
    """The current secret, then the previous one while its grace period lasts."""
    found = [encryption.decrypt(subscription.secret_encrypted)]
    expires = subscription.previous_secret_expires_at
    if subscription.previous_secret_encrypted and expires and expires > now:
        found.append(encryption.decrypt(subscription.previous_secret_encrypted))
    return found


def validate_events(events: Any) -> list[str]:
    if not isinstance(events, list | tuple) or not events:
        raise ValidationError({"events": "Give a non-empty list of event types."})
    unknown = sorted({str(e) for e in events} - set(SUBSCRIBABLE_EVENTS))
    if unknown:
        raise ValidationError(
            {
                "events": f"Unknown {plural(len(unknown), 'event type')}: {', '.join(unknown)}. "
                f"Known: {', '.join(SUBSCRIBABLE_EVENTS)}."
            }
        )
    return list(dict.fromkeys(events))


def validate_custom_headers(headers: Any) -> dict[str, str]:
    if not isinstance(headers, Mapping):
        raise ValidationError({"custom_headers": "Give an object of header names to values."})
    errors = []
    for name, value in headers.items():
        if not isinstance(name, str) or not HEADER_NAME.match(name):
            errors.append(f"{name!r} is not a valid header name.")
        elif name.lower() in RESERVED_HEADERS or name.lower() in CONNECTION_HEADERS:
            errors.append(f"{name} is set by the webhook sender and cannot be overridden.")
        elif not isinstance(value, str) or len(value) > 4096:
            errors.append(f"The value of {name} must be a string (≤ 4096 chars).")
        elif problem := header_value_problem(value):
            errors.append(f"The value of {name} {problem}.")
    if len(headers) > 20:
        errors.append("At most 20 custom headers.")
    if errors:
        raise ValidationError({"custom_headers": errors})
    return dict(headers)


def validate_url(url: str) -> str:
    try:
        url_check(url, WEBHOOKS)
    except UnsafeURLError as exc:
        raise ValidationError({"url": str(exc)}) from None
    return url


def _audited(subscription: WebhookSubscription) -> dict[str, Any]:
    return trail.snapshot(subscription, custom_headers_of(subscription))


def _audit_record(
    action: str, subscription: WebhookSubscription, changes: dict[str, Any], *, reason: str = ""
) -> None:
    trail.record(
        action, object_id=subscription.pk, name=subscription.name, changes=changes, reason=reason
    )


def _apply(subscription: WebhookSubscription, data: Mapping[str, Any]) -> None:
    unknown = sorted(set(data) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in unknown})
    if {"max_retries", "retry_delay_seconds"} & set(data) and "retry_schedule" not in data:
        subscription.retry_schedule = None  # they chose the exponential policy
    for name, value in data.items():
        if name == "events":
            subscription.events = validate_events(value)
        elif name == "custom_headers":
            current = custom_headers_of(subscription)
            # A client that sends back the redacted value keeps the stored one.
            merged = {k: current.get(k, v) if v == REDACTED else v for k, v in value.items()}
            merged = validate_custom_headers(merged)
            subscription.custom_headers_encrypted = (
                encryption.encrypt(json.dumps(merged)) if merged else ""
            )
        elif name == "url":
            subscription.url = validate_url(value)
        else:
            setattr(subscription, name, value)
    subscription.full_clean(exclude=["secret_encrypted"])


@transaction.atomic
def subscription_create(**data: Any) -> tuple[WebhookSubscription, str]:
    """Create a subscription; returns it and its clear secret (show it once)."""
    if "events" not in data:
        raise ValidationError({"events": "This field is required."})
    subscription = WebhookSubscription()
    _apply(subscription, data)
    secret = secret_generate()
    subscription.secret_encrypted = encryption.encrypt(secret)
    subscription.save()
    changes = trail.changes({}, _audited(subscription))
    _audit_record("created", subscription, {**changes, "secret": [None, SECRET_SET]})
    return subscription, secret


@transaction.atomic
def subscription_update(
    *, subscription: WebhookSubscription, data: Mapping[str, Any]
) -> WebhookSubscription:
    """Change the editable fields; an update that changes nothing records nothing. Turning
    `is_active` is recorded as `enabled` / `disabled`, with the other changes made with it."""
    before = _audited(subscription)
    was_active = subscription.is_active
    _apply(subscription, data)
    if subscription.is_active and not was_active:
        _clear_failures(subscription)
    elif was_active and not subscription.is_active:
        subscription.disabled_reason = "Disabled by a user."
        subscription.disabled_at = timezone.now()
    subscription.save()
    changes = trail.changes(before, _audited(subscription))
    if changes:
        if subscription.is_active != was_active:
            action = "enabled" if subscription.is_active else "disabled"
        else:
            action = "updated"
        _audit_record(action, subscription, changes)
    return subscription


@transaction.atomic
def subscription_regenerate_secret(
    *, subscription: WebhookSubscription, grace_period_seconds: int = DEFAULT_GRACE_SECONDS
) -> str:
    """Replace the secret; the old one keeps signing (beside the new) for the grace period."""
    if not 0 <= grace_period_seconds <= MAX_GRACE_SECONDS:
        raise ValidationError(
            {"grace_period_seconds": f"Must be between 0 and {MAX_GRACE_SECONDS} seconds."}
        )
    secret = secret_generate()
    now = timezone.now()
    expired_before = subscription.previous_secret_expires_at
    if grace_period_seconds:
        subscription.previous_secret_encrypted = subscription.secret_encrypted
        subscription.previous_secret_expires_at = now + timedelta(seconds=grace_period_seconds)
    else:
        subscription.previous_secret_encrypted = ""
        subscription.previous_secret_expires_at = None
    subscription.secret_encrypted = encryption.encrypt(secret)
    subscription.save(
        update_fields=[
            "secret_encrypted",
            "previous_secret_encrypted",
            "previous_secret_expires_at",
            "updated_at",
        ]
    )
    changes = trail.changes(
        {"previous_secret_valid_until": expired_before},
        {"previous_secret_valid_until": subscription.previous_secret_expires_at},
    )
    changes["secret"] = [SECRET_OLD, SECRET_CHANGED]
    reason = (
        f"The previous secret keeps signing for {grace_period_seconds} s."
        if grace_period_seconds
        else "The previous secret stopped signing at once."
    )
    _audit_record("secret_rotated", subscription, changes, reason=reason)
    return secret


def _clear_failures(subscription: WebhookSubscription) -> None:
    subscription.disabled_reason = ""
    subscription.disabled_at = None
    subscription.consecutive_failures = 0
    subscription.failing_since = None


@transaction.atomic
def subscription_enable(*, subscription: WebhookSubscription) -> WebhookSubscription:
    before = _audited(subscription)
    failures = subscription.consecutive_failures
    subscription.is_active = True
    _clear_failures(subscription)
    subscription.save()
    changes = trail.changes(before, _audited(subscription))
    if failures:
        changes["consecutive_failures"] = [failures, 0]
    if changes:  # enabling an enabled subscription with no failures changes nothing
        _audit_record("enabled", subscription, changes)
    return subscription


@transaction.atomic
def subscription_disable(*, subscription_id: int, reason: str) -> bool:
    """Disable with a reason the admin shows; False if it was already disabled. By a person
    (the admin) or by the service (a 410, too many failures): the audit context says which."""
    current = (
        WebhookSubscription.objects.filter(pk=subscription_id, is_active=True)
        .values("name", "disabled_reason")
        .first()
    )
    disabled = bool(
        WebhookSubscription.objects.filter(pk=subscription_id, is_active=True).update(
            is_active=False, disabled_reason=reason, disabled_at=timezone.now()
        )
    )
    if disabled and current is not None:
        trail.record(
            "disabled",
            object_id=subscription_id,
            name=current["name"],
            reason=reason,
            changes={
                "is_active": [True, False],
                "disabled_reason": [current["disabled_reason"], reason],
            },
        )
    return disabled


@transaction.atomic
def subscription_delete(*, subscription: WebhookSubscription) -> None:
    """Delete it with its deliveries; the trail keeps the deletion, the settings it had, and
    for each delivery deleted with it which event it carried and how it ended."""
    before = _audited(subscription)
    deliveries_evidence_record(
        subscription.deliveries.all(), reason="Deleted with its subscription."
    )
    subscription_id, name = subscription.pk, subscription.name
    subscription.delete()
    changes = {**trail.changes(before, {}), "secret": [SECRET_OLD, None]}
    trail.record("deleted", object_id=subscription_id, name=name, changes=changes)


def subscriptions_for_event(event_type: str) -> Iterable[WebhookSubscription]:
    # Filtered in Python: JSON containment lookups are not portable (SQLite, SQL Server).
    return [
        s
        for s in WebhookSubscription.objects.filter(is_active=True).only("id", "events")
        if event_type in s.events
    ]
