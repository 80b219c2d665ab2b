"""Secrets at rest: Fernet with rotation, never a clear value in an error."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from eqms_integration import encryption


def test_a_secret_round_trips_and_is_not_stored_in_clear(settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    token = encryption.encrypt("whsec_super-secret")

    assert "super-secret" not in token
    assert encryption.decrypt(token) == "whsec_super-secret"


def test_old_keys_still_decrypt_and_rotate_moves_values_to_the_first_key(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    token = encryption.encrypt("value")

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    rotated = encryption.rotate(token)
    settings.FIELD_ENCRYPTION_KEYS = [new]

    assert encryption.decrypt(rotated) == "value"
    with pytest.raises(encryption.DecryptionError):
        encryption.decrypt(token)


def test_without_keys_and_with_debug_off_storing_a_secret_is_refused(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    settings.DEBUG = False

    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS is not set"):
        encryption.encrypt("x")


def test_with_debug_on_and_no_keys_a_key_derived_from_secret_key_is_used(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    settings.DEBUG = True

    assert encryption.decrypt(encryption.encrypt("x")) == "x"


def test_the_generate_key_command_prints_a_usable_key(capsys):
    from django.core.management import call_command

    call_command("generate_encryption_key")

    Fernet(capsys.readouterr().out.strip().encode())
