"""An SQL run opens one connection to the external database and describes its table once:
the run's validation reuses what the session described when it opened."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db.backends.signals import connection_created

from quality.models import Equipment
from sync.models import Connection
from sync.services import configuration_create
from sync.services.runs import run_execute, run_start
from tests.sync.sources import SQLiteSource
from tests.sync.test_engine import rows

pytestmark = pytest.mark.django_db
DESCRIBE = "FROM sqlite_master WHERE type IN ('table', 'view')"


@pytest.fixture
def external() -> Iterator[dict[str, list]]:
    """The connections opened to external databases, and the statements each ran."""
    seen: dict[str, list] = {"opened": [], "statements": []}

    def record(execute, sql, params, many, context):
        seen["statements"].append(sql)
        return execute(sql, params, many, context)

    def opened(sender, connection, **kwargs) -> None:
        if connection.alias.startswith("sync-connection-"):
            seen["opened"].append(connection.alias)
            connection.execute_wrappers.append(record)

    connection_created.connect(opened)
    yield seen
    connection_created.disconnect(opened)


@pytest.mark.parametrize("direction", ["inbound", "bidirectional"])
def test_an_sql_run_opens_one_connection_and_describes_its_table_once(
    tmp_path, external, direction, settings
):
    settings.SYNC_LOCAL_SETTLE_SECONDS = 0
    source = SQLiteSource(tmp_path)
    source.create()
    source.insert(rows(5))
    connection = Connection.objects.create(name="ERP", **source.connection_fields())
    config = configuration_create(
        name="ERP equipment",
        system_type="ERP",
        connection=connection,
        entity_type="equipment",
        sync_type="delta",
        sync_direction=direction,
        remote_object=source.table,
        remote_key="equipment_no",
        delta_field="changed_at",
        batch_size=2,
        field_mappings=[{"local": "name", "remote": "description"}],
    )
    external["opened"].clear()
    external["statements"].clear()

    run = run_execute(run=run_start(config=config))

    assert (run.status, run.created) == ("success", 5) and Equipment.objects.count() == 5
    assert len(external["opened"]) == 1
    assert sum(DESCRIBE in sql for sql in external["statements"]) == 1
