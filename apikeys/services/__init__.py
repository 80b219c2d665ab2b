"""Every write and side effect of API keys goes through these functions."""

from __future__ import annotations

from apikeys.services.lifecycle import (
    IssuedKey,
    apikey_create,
    apikey_delete,
    apikey_revoke,
    apikey_rotate,
    apikey_update,
)
from apikeys.services.usage import usage_flush, usage_push, usage_record
from apikeys.services.verification import KeyRejected, TooManyFailures, key_verify

__all__ = [
    "IssuedKey",
    "KeyRejected",
    "TooManyFailures",
    "apikey_create",
    "apikey_delete",
    "apikey_revoke",
    "apikey_rotate",
    "apikey_update",
    "key_verify",
    "usage_flush",
    "usage_push",
    "usage_record",
]
