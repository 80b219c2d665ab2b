"""A revocation made by another process holds on this process's very next request."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    if connection.vendor == "postgresql":
        auth = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
        return f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    pytest.skip(f"no URL form for {connection.vendor} in this test")


@pytest.mark.django_db(transaction=True)
def test_revoking_in_another_process_stops_a_cached_key_here(issue_key, key_client, settings):
    issued = issue_key(["ncr:read"])
    client = key_client(issued.key)
    assert client.get("/api/ncrs/").status_code == 200  # verified and cached
    assert client.get("/api/ncrs/").status_code == 200  # served from the cache

    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "revoke_api_key", issued.api_key.key_id],
        env={**os.environ, "DATABASE_URL": database_url(), "EQMS_VAR_DIR": str(settings.VAR_DIR)},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert client.get("/api/ncrs/").status_code == 401
