"""Creating, changing, revoking, rotating and deleting keys. Every change that affects
verification bumps the key's generation, so cached verifications die in every process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import bcrypt
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apikeys import validation
from apikeys.keyformat import build_key, generate_key_id, preview
from apikeys.models import APIKey, APIKeyEvent
from apikeys.services.audit import event_record, snapshot
from apikeys.services.store import generation_publish
from audit import services as audit

# Changing these changes what a presented key may do, so they invalidate cached verifications.
VERIFICATION_FIELDS = ("scopes", "allowed_networks", "expires_at", "rate_limit_per_minute")
EDITABLE_FIELDS = ("name", "description", *VERIFICATION_FIELDS)
DEFAULT_ROTATION_GRACE = timedelta(hours=24)
MAX_ROTATION_GRACE = timedelta(days=30)


@dataclass(frozen=True)
class IssuedKey:
    """A key and its full value, which exists only here: it is never stored."""

    api_key: APIKey
    key: str


def _hash(secret: str) -> str:
    salt = bcrypt.gensalt(rounds=settings.APIKEY_BCRYPT_ROUNDS)
    return bcrypt.hashpw(secret.encode(), salt).decode()


def _bump_generation(key: APIKey) -> None:
    APIKey.objects.filter(pk=key.pk).update(generation=F("generation") + 1)
    key.refresh_from_db(fields=["generation"])
    key_id, generation = key.key_id, key.generation
    transaction.on_commit(lambda: generation_publish(key_id, generation))


@transaction.atomic
def apikey_create(
    *,
    name: str,
    scopes: list[str],
    description: str = "",
    allowed_networks: list[str] | None = None,
    expires_at: datetime | None = None,
    rate_limit_per_minute: int | None = None,
    actor: Any = None,
    ip: str | None = None,
    rotated_from: APIKey | None = None,
) -> IssuedKey:
    key_id = generate_key_id()
    raw, secret = build_key(key_id)
    key = APIKey.objects.create(
        name=validation.clean_name(name),
        description=description,
        key_id=key_id,
        secret_hash=_hash(secret),
        key_preview=preview(raw),
        scopes=validation.clean_scopes(scopes),
        allowed_networks=validation.clean_networks(allowed_networks or []),
        expires_at=validation.clean_expiry(expires_at),
        rate_limit_per_minute=validation.clean_rate_limit(rate_limit_per_minute),
        rotated_from=rotated_from,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    details: dict[str, Any] = {"scopes": key.scopes}
    if rotated_from is not None:
        details["rotated_from"] = rotated_from.key_id
    changes = audit.changes_between({}, snapshot(key))
    if rotated_from is not None:
        changes["rotated_from"] = [None, rotated_from.key_id]
    event_record(
        key=key,
        key_id=key_id,
        event_type=APIKeyEvent.Type.CREATED,
        actor=actor,
        ip=ip,
        details=details,
        changes=changes,
    )
    return IssuedKey(api_key=key, key=raw)


def _cleaned(data: dict[str, Any]) -> dict[str, Any]:
    cleaners = {
        "name": validation.clean_name,
        "scopes": validation.clean_scopes,
        "allowed_networks": validation.clean_networks,
        "expires_at": validation.clean_expiry,
        "rate_limit_per_minute": validation.clean_rate_limit,
    }
    unknown = sorted(set(data) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in unknown})
    return {name: cleaners.get(name, lambda v: v)(value) for name, value in data.items()}


@transaction.atomic
def apikey_update(
    *, key: APIKey, data: dict[str, Any], actor: Any = None, ip: str | None = None
) -> APIKey:
    key = APIKey.objects.select_for_update().get(pk=key.pk)
    before = snapshot(key)
    cleaned = _cleaned(data)
    changed = [name for name, value in cleaned.items() if getattr(key, name) != value]
    for name in changed:
        setattr(key, name, cleaned[name])
    if not changed:
        return key
    key.save(update_fields=[*changed, "updated_at"])
    if set(changed) & set(VERIFICATION_FIELDS):
        _bump_generation(key)
    event_record(
        key=key,
        key_id=key.key_id,
        event_type=APIKeyEvent.Type.UPDATED,
        actor=actor,
        ip=ip,
        details={"changed": changed},
        changes=audit.changes_between(before, snapshot(key)),
    )
    return key


@transaction.atomic
def apikey_revoke(*, key: APIKey, reason: str, actor: Any = None, ip: str | None = None) -> APIKey:
    """Revoke it now; the reason is required (it goes into the audit trail)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the key is revoked."})
    before = snapshot(key)
    now = timezone.now()
    revoked = APIKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        is_active=False,
        revoked_at=now,
        revoked_by=actor if getattr(actor, "pk", None) else None,
        revocation_reason=reason[:255],
        updated_at=now,
    )
    if not revoked:
        raise ValidationError({"non_field_errors": f"Key {key.key_preview} is already revoked."})
    key.refresh_from_db()
    _bump_generation(key)
    event_record(
        key=key,
        key_id=key.key_id,
        event_type=APIKeyEvent.Type.REVOKED,
        actor=actor,
        ip=ip,
        details={"reason": reason[:255]},
        changes=audit.changes_between(before, snapshot(key)),
        reason=reason,
    )
    return key


@transaction.atomic
def apikey_rotate(
    *,
    key: APIKey,
    grace: timedelta = DEFAULT_ROTATION_GRACE,
    actor: Any = None,
    ip: str | None = None,
) -> IssuedKey:
    """Issue a successor with the same name, scopes and limits. The old key keeps working
    until the grace period ends (0: revoked now)."""
    key = APIKey.objects.select_for_update().get(pk=key.pk)
    if key.state != "active":
        raise ValidationError({"non_field_errors": f"A {key.state} key cannot be rotated."})
    if not timedelta(0) <= grace <= MAX_ROTATION_GRACE:
        raise ValidationError(
            {"grace_period_seconds": f"Between 0 and {MAX_ROTATION_GRACE.days} days."}
        )
    issued = apikey_create(
        name=key.name,
        description=key.description,
        scopes=key.scopes,
        allowed_networks=key.allowed_networks,
        expires_at=key.expires_at,
        rate_limit_per_minute=key.rate_limit_per_minute,
        actor=actor,
        ip=ip,
        rotated_from=key,
    )
    details = {
        "new_key_id": issued.api_key.key_id,
        "grace_period_seconds": int(grace.total_seconds()),
    }
    before = snapshot(key)
    ends = timezone.now() + grace
    shortened = grace > timedelta(0) and (key.expires_at is None or key.expires_at > ends)
    if shortened:
        key.expires_at = ends
        key.save(update_fields=["expires_at", "updated_at"])
        _bump_generation(key)
    changes = audit.changes_between(before, snapshot(key))
    changes["successor_key_id"] = [None, issued.api_key.key_id]
    event_record(
        key=key,
        key_id=key.key_id,
        event_type=APIKeyEvent.Type.ROTATED,
        actor=actor,
        ip=ip,
        details=details,
        changes=changes,
    )
    if grace == timedelta(0):
        apikey_revoke(key=key, reason=f"Rotated to {issued.api_key.key_id}", actor=actor, ip=ip)
    return issued


@transaction.atomic
def apikey_delete(*, key: APIKey, actor: Any = None, ip: str | None = None) -> None:
    event_record(
        key=key,
        key_id=key.key_id,
        event_type=APIKeyEvent.Type.DELETED,
        actor=actor,
        ip=ip,
        details={"name": key.name},
        changes=audit.changes_between(snapshot(key), {}),
    )
    key_id, generation = key.key_id, key.generation + 1
    key.delete()
    transaction.on_commit(lambda: generation_publish(key_id, generation))
