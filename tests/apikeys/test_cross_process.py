"""A revocation made by another process holds on this process's very next request."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import database_url_for_subprocess

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db(transaction=True)
def test_revoking_in_another_process_stops_a_cached_key_here(issue_key, key_client, settings):
    issued = issue_key(["ncr:read"])
    client = key_client(issued.key)
    assert client.get("/api/ncrs/").status_code == 200  # verified and cached
    assert client.get("/api/ncrs/").status_code == 200  # served from the cache

    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "EQMS_VAR_DIR": str(settings.VAR_DIR),
    }
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "revoke_api_key",
            issued.api_key.key_id,
            "--reason",
            "leaked",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert client.get("/api/ncrs/").status_code == 401
