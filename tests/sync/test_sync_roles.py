"""The role matrix on every sync endpoint: Admin manages, Manager executes runs and resolves
conflicts, Auditor reads, a user without a role gets 403 and nobody logged in 401."""

from __future__ import annotations

import itertools

import pytest

from sync.models import SyncConflict, SyncRecord
from tests.sync.sources import SQLiteSource
from tests.sync.test_engine import configure, rows

pytestmark = pytest.mark.django_db

READ, EXECUTE, MANAGE = "read", "execute", "manage"
ALLOWED = {
    "Admin": {READ, EXECUTE, MANAGE},
    "Manager": {READ, EXECUTE},
    "Auditor": {READ},
    "": set(),
    None: set(),
}
ENDPOINTS = [
    (READ, "get", "/api/sync/connections/", None),
    (READ, "get", "/api/sync/connections/{connection}/", None),
    (MANAGE, "patch", "/api/sync/connections/{connection}/", {"timeout_seconds": 20}),
    (MANAGE, "post", "/api/sync/connections/{connection}/test/", None),
    (READ, "get", "/api/sync/configurations/", None),
    (READ, "get", "/api/sync/configurations/{config}/", None),
    (MANAGE, "patch", "/api/sync/configurations/{config}/", {"batch_size": 50}),
    (EXECUTE, "post", "/api/sync/configurations/{config}/execute/", {}),
    (READ, "get", "/api/sync/configurations/{config}/logs/", None),
    (READ, "get", "/api/sync/configurations/{config}/status/", None),
    (READ, "get", "/api/sync/configurations/{config}/delta/", None),
    (READ, "get", "/api/sync/configurations/{config}/conflicts/", None),
    (READ, "get", "/api/sync/logs/", None),
    (READ, "get", "/api/sync/conflicts/", None),
    (READ, "get", "/api/sync/conflicts/{conflict}/", None),
    (
        EXECUTE,
        "post",
        "/api/sync/conflicts/{conflict}/resolve/",
        {"resolution": "ignored", "reason": "a duplicate"},
    ),
    (READ, "get", "/api/records/", None),
    (READ, "get", "/api/records/{record}/", None),
]


@pytest.fixture
def ids(tmp_path) -> dict[str, int]:
    source = SQLiteSource(tmp_path)
    source.create()
    source.insert(rows(2))
    config = configure(source, sync_direction="bidirectional", conflict_strategy="manual")
    conflict = SyncConflict.objects.create(
        configuration=config,
        external_id="EQ-00001",
        source_hash="a",
        target_hash="b",
        strategy="manual",
    )
    record = SyncRecord.objects.create(entity_type="orders", external_id="O-1", data_hash="c")
    return {
        "connection": config.connection_id,
        "config": config.pk,
        "conflict": conflict.pk,
        "record": record.pk,
    }


@pytest.mark.parametrize(
    ("role", "endpoint"),
    list(itertools.product(ALLOWED, ENDPOINTS)),
    ids=lambda v: repr(v) if not isinstance(v, tuple) else f"{v[1]} {v[2]}",
)
def test_each_role_gets_exactly_the_sync_access_of_the_matrix(
    client_for, ids, role, endpoint, django_capture_on_commit_callbacks
):
    kind, method, template, body = endpoint
    with django_capture_on_commit_callbacks(execute=False):
        response = getattr(client_for(role), method)(template.format(**ids), body, format="json")

    if kind in ALLOWED[role]:
        assert response.status_code in (200, 201, 202), (response.status_code, response.json())
    elif role is None:
        assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    else:
        assert response.status_code == 403 and response.json()["code"] == "permission_denied"
