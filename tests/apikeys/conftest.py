from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from apikeys import services
from apikeys.services import verification


@pytest.fixture
def issue_key(db) -> Callable[..., services.IssuedKey]:
    def issue(scopes: list[str] | None = None, **fields: Any) -> services.IssuedKey:
        return services.apikey_create(
            name=fields.pop("name", "ERP"), scopes=scopes or ["*"], **fields
        )

    return issue


@pytest.fixture
def key_client() -> Callable[..., APIClient]:
    def make(key: str, *, bearer: bool = False, ip: str = "127.0.0.1") -> APIClient:
        client = APIClient(REMOTE_ADDR=ip)
        if bearer:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        else:
            client.credentials(HTTP_X_API_KEY=key)
        return client

    return make


@pytest.fixture
def bcrypt_calls(monkeypatch) -> list[int]:
    """Counts bcrypt checks made by verification (a spy: the real check still runs)."""
    calls: list[int] = []
    real = verification.bcrypt.checkpw

    def counting(*args: Any) -> bool:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(verification.bcrypt, "checkpw", counting)
    return calls


@pytest.fixture(autouse=True)
def _fresh_usage_buffer() -> None:
    """Usage counted in memory by earlier tests must not land on this test's keys (ids repeat
    after rollbacks)."""
    from apikeys.services import usage

    with usage._buffer.lock:
        usage._buffer.pending.clear()
