"""Loaded by pytest before Django settings (`-p tests.testenv` in pyproject.toml).

Settings refuse to start without a SECRET_KEY when DEBUG is off; the suite runs with DEBUG off
(as production does) and a throwaway key, unless the environment already provides one.
"""

from __future__ import annotations

import os

TEST_DEFAULTS = {
    "SECRET_KEY": "test-only-secret-key-" + "x" * 40,
    "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
    # Tests speak plain HTTP to the test client and the live server.
    "SECURE_SSL_REDIRECT": "false",
    # Webhook secrets are stored encrypted; a fixed test-only Fernet key.
    "FIELD_ENCRYPTION_KEYS": "dGVzdC1vbmx5LWZlcm5ldC1rZXktMzItYnl0ZXMhISE=",
}
for name, value in TEST_DEFAULTS.items():
    os.environ.setdefault(name, value)
