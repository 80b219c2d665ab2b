"""Loaded by pytest before Django settings (`-p tests.testenv` in pyproject.toml).

Settings refuse to start without a SECRET_KEY when DEBUG is off; the suite runs with DEBUG off
(as production does) and a throwaway key, unless the environment already provides one.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

TEST_DEFAULTS = {
    "SECRET_KEY": "test-only-secret-key-" + "x" * 40,
    "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
    # Tests speak plain HTTP to the test client and the live server.
    "SECURE_SSL_REDIRECT": "false",
    # Cheap hashes keep key creation fast in tests; production cost is the default (10).
    "APIKEY_BCRYPT_ROUNDS": "4",
    # A fixed test key for secrets at rest (webhook secrets, sync credentials).
    "FIELD_ENCRYPTION_KEYS": "dGVzdC1vbmx5LWZpZWxkLWVuY3J5cHRpb24ta2V5LTA=",
}
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    # Metrics of this run (and of the workers it starts) apart from those of `make run`.
    TEST_DEFAULTS["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="eqms-test-metrics-")
    atexit.register(shutil.rmtree, TEST_DEFAULTS["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
for name, value in TEST_DEFAULTS.items():
    os.environ.setdefault(name, value)
