"""Encryption of secrets at rest (webhook secrets, sync credentials).

FIELD_ENCRYPTION_KEYS holds comma-separated Fernet keys: the first encrypts, every key
decrypts, so keys rotate by putting a new one first and re-encrypting (`rotate`). With DEBUG on
and no keys set, a key derived from SECRET_KEY is used so the embedded default just works.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DecryptionError(Exception):
    """A stored value cannot be decrypted with any configured key (the value is never shown)."""


def generate_key() -> str:
    return Fernet.generate_key().decode()


def _fernet_for(index: int, key: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except ValueError:
        raise ImproperlyConfigured(
            f"FIELD_ENCRYPTION_KEYS entry {index + 1} is not a Fernet key "
            "(32 url-safe base64-encoded bytes); generate one with "
            "`python manage.py generate_encryption_key`."
        ) from None


@cache
def _multifernet(keys: tuple[str, ...], debug: bool, secret_key: str) -> MultiFernet:
    if not keys:
        if not debug:
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEYS is not set; it is required to store secrets with DEBUG off."
            )
        derived = base64.urlsafe_b64encode(hashlib.sha256(secret_key.encode()).digest())
        return MultiFernet([Fernet(derived)])
    return MultiFernet([_fernet_for(i, key) for i, key in enumerate(keys)])


def _cipher() -> MultiFernet:
    return _multifernet(tuple(settings.FIELD_ENCRYPTION_KEYS), settings.DEBUG, settings.SECRET_KEY)


def validate_keys() -> None:
    """Fail early, naming the bad entry, if a configured key is malformed."""
    for index, key in enumerate(settings.FIELD_ENCRYPTION_KEYS):
        _fernet_for(index, key)


def encrypt(plaintext: str) -> str:
    return _cipher().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            "A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS; "
            "was a key removed before re-encryption?"
        ) from None


def rotate(token: str) -> str:
    """Re-encrypt a token with the first (current) key."""
    try:
        return _cipher().rotate(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError("A stored secret cannot be decrypted for rotation.") from None
