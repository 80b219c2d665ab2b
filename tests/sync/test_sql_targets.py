"""SQL connections never reach the service's own database: SQLite files only from the
operator's directories, existing, never the service's own (symlinks, `..`, hard links);
server databases never the service's own however spelled, nor through options, nor through a
port forward. Refused on save (400 naming the field) and on every path that connects."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection as service_db

from sync.connectors.errors import ConnectorError
from sync.models import Connection, SyncRun
from tests.sync.sources import PG

pytestmark = pytest.mark.django_db


def create(api, **body):
    return api.post("/api/sync/connections/", {"name": "ERP", **body}, format="json")


def errors(response) -> dict[str, str]:
    assert response.status_code == 400, response.json()
    return {field: " ".join(messages) for field, messages in response.json()["errors"].items()}


def sqlite_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE IF NOT EXISTS django_session (session_key TEXT PRIMARY KEY)")
        db.execute("INSERT OR REPLACE INTO django_session VALUES ('admin-session-key')")
    return path


@pytest.fixture
def var_dir(settings, tmp_path) -> Path:
    """The service's data directory (EQMS_VAR_DIR) for this test, with a database in it."""
    settings.VAR_DIR = tmp_path / "var"
    sqlite_file(settings.VAR_DIR / "db.sqlite3")
    return settings.VAR_DIR


# SQLite ---------------------------------------------------------------------------------------


def test_sqlite_connections_are_refused_until_the_operator_allows_a_directory(
    admin_api, settings, erp_sqlite
):
    settings.SYNC_SQLITE_DIRS = []  # the default

    refused = errors(create(admin_api, kind="sqlite", database=str(erp_sqlite)))

    assert "SYNC_SQLITE_DIRS" in refused["kind"]
    assert not Connection.objects.exists()


def test_an_existing_file_in_an_allowed_directory_is_accepted(admin_api, erp_sqlite):
    response = create(admin_api, kind="sqlite", database=str(erp_sqlite))

    assert response.status_code == 201, response.json()


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("{var}/db.sqlite3", "service's own database or lies in its data directory"),
        ("{var}/cache/../db.sqlite3", "service's own database or lies in its data directory"),
        ("{allowed}/../var/db.sqlite3", "service's own database or lies in its data directory"),
        ("{allowed}/link-to-var-db.sqlite3", "service's own database or lies in its data"),
        ("{allowed}/hard-link.sqlite3", "another name (a hard link)"),
        ("{outside}/erp.sqlite3", "not in a directory allowed for SQLite files"),
        ("{allowed}/missing.sqlite3", "does not exist (nothing is created)"),
        ("{allowed}", "not a regular file"),
        ("erp.sqlite3", "absolute path"),
        ("file:{allowed}/erp.sqlite3?mode=rwc", "absolute path"),
    ],
)
def test_a_sqlite_file_outside_the_rules_is_refused_on_save_whatever_the_setting_says(
    admin_api, settings, tmp_path, var_dir, where, reason
):
    allowed, outside = tmp_path / "erp", tmp_path / "elsewhere"
    sqlite_file(allowed / "erp.sqlite3")
    sqlite_file(outside / "erp.sqlite3")
    (allowed / "link-to-var-db.sqlite3").symlink_to(var_dir / "db.sqlite3")
    os.link(sqlite_file(var_dir / "copy.sqlite3"), allowed / "hard-link.sqlite3")
    # Even an operator allowing the data directory, or everything, does not open those.
    settings.SYNC_SQLITE_DIRS = [str(allowed), str(var_dir), str(tmp_path / "erp" / "..")]
    if "outside" in where:
        settings.SYNC_SQLITE_DIRS = [str(allowed)]
    path = where.format(var=var_dir, allowed=allowed, outside=outside)

    refused = errors(create(admin_api, kind="sqlite", database=path))

    assert reason in refused["database"]
    assert not Connection.objects.exists()
    assert not (allowed / "missing.sqlite3").exists()


def test_the_services_own_database_file_is_refused_even_outside_its_data_directory(
    admin_api, settings, var_dir
):
    if service_db.vendor != "sqlite":
        pytest.skip("the service's database is not an SQLite file in this run")
    own = Path(service_db.settings_dict["NAME"])
    settings.SYNC_SQLITE_DIRS = ["/"]
    link = var_dir.parent / "own-db-link.sqlite3"
    link.symlink_to(own)

    for path in (own, link):
        refused = errors(create(admin_api, kind="sqlite", database=str(path)))
        assert "service's own database" in refused["database"]


def test_options_that_run_sql_on_our_side_are_refused(admin_api, erp_sqlite, var_dir):
    options = {"init_command": f"ATTACH DATABASE '{var_dir / 'db.sqlite3'}' AS own"}

    refused = errors(create(admin_api, kind="sqlite", database=str(erp_sqlite), options=options))

    assert "'init_command' is not allowed" in refused["options"]


@pytest.fixture
def stored_on_own_db(var_dir) -> Connection:
    """A connection stored before these checks existed, on the service's own database file."""
    return Connection.objects.create(
        name="Own", kind="sqlite", database=str(var_dir / "db.sqlite3")
    )


def test_a_stored_connection_to_the_services_own_file_is_refused_on_every_path(
    admin_api, stored_on_own_db
):
    cid = stored_on_own_db.pk
    tested = admin_api.post(f"/api/sync/connections/{cid}/test/").json()
    described = admin_api.get(f"/api/sync/connections/{cid}/describe/?object=django_session")
    configured = admin_api.post(
        "/api/sync/configurations/",
        {
            "name": "sessions",
            "system_type": "ERP",
            "connection": cid,
            "entity_type": "orders",
            "sync_direction": "inbound",
            "sync_type": "full",
            "remote_object": "django_session",
            "remote_key": "session_key",
            "field_mappings": [{"local": "k", "remote": "session_key"}],
        },
        format="json",
    )

    assert tested["ok"] is False and "service's own database" in tested["message"]
    assert "service's own database" in errors(described)["database"]
    assert "service's own database" in errors(configured)["connection"]


def test_a_run_on_a_connection_to_the_services_own_file_fails_and_reads_nothing(stored_on_own_db):
    from sync.models import SyncConfiguration, SyncRecord

    config = SyncConfiguration.objects.create(
        name="sessions",
        connection=stored_on_own_db,
        entity_type="orders",
        sync_type="full",
        remote_object="django_session",
        remote_key="session_key",
        field_mappings=[{"local": "key", "remote": "session_key"}],
    )

    with pytest.raises(CommandError, match="ended failed"):
        call_command("run_sync", str(config.pk))

    assert "service's own database" in SyncRun.objects.get().error
    assert not SyncRecord.objects.exists()


def test_testing_describing_or_running_a_connection_whose_file_went_missing_creates_nothing(
    admin_api, erp_sqlite
):
    cid = create(admin_api, kind="sqlite", database=str(erp_sqlite)).json()["id"]
    erp_sqlite.unlink()

    tested = admin_api.post(f"/api/sync/connections/{cid}/test/").json()
    described = admin_api.get(f"/api/sync/connections/{cid}/describe/?object=equipment")

    assert tested["ok"] is False and "does not exist" in tested["message"]
    assert described.status_code == 400
    assert not erp_sqlite.exists()


def test_a_file_removed_between_the_check_and_the_open_is_not_created(erp_sqlite):
    """The check and the open are not one step: the file is opened with mode=rw, so a file
    gone by then fails the connection instead of being created empty."""
    from sync.connectors.factory import connector_for

    connector = connector_for(Connection(name="ERP", kind="sqlite", database=str(erp_sqlite)))
    erp_sqlite.unlink()

    with pytest.raises(ConnectorError, match="unable to open database file"):
        connector.test()
    assert not erp_sqlite.exists()


# PostgreSQL, MySQL/MariaDB, SQL Server ---------------------------------------------------------


@pytest.fixture
def own_postgres() -> dict:
    if service_db.vendor != "postgresql":
        pytest.skip("the service's database is not PostgreSQL in this run (DATABASE_URL)")
    own = service_db.settings_dict
    return {"name": own["NAME"], "port": int(own["PORT"] or 5432), "user": own["USER"]}


def _own_addresses() -> list[str]:
    """This machine's name and the addresses it resolves to."""
    found = {socket.gethostname()}
    with contextlib.suppress(OSError):
        found |= {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
    return sorted(found)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "LOCALHOST",
        "::1",
        "[::1]",
        "0.0.0.0",  # noqa: S104
        "127.0.0.2",
        "::ffff:127.0.0.1",
        "erp.localhost",
        "db.example.com,127.0.0.1",
        *_own_addresses(),
    ],
)
@pytest.mark.parametrize("port", [None, 5432])
def test_a_postgresql_connection_to_the_services_own_database_is_refused_however_spelled(
    admin_api, own_postgres, host, port
):
    if port is not None:
        port = own_postgres["port"]
    own_name = own_postgres["name"].upper()  # names are compared case-insensitively
    refused = errors(
        create(
            admin_api,
            kind="postgresql",
            host=host,
            port=port,
            database=own_name,
            username="postgres",
        )
    )

    assert "service's own database" in refused["database"]
    assert not Connection.objects.exists()


def test_another_database_on_the_same_server_is_allowed(admin_api, own_postgres):
    created = create(
        admin_api,
        kind="postgresql",
        host="localhost",
        port=own_postgres["port"],
        database=PG["dbname"],
        username="postgres",
    )
    tested = admin_api.post(f"/api/sync/connections/{created.json()['id']}/test/").json()

    assert created.status_code == 201, created.json()
    assert tested["ok"] is True, tested


@pytest.mark.parametrize(
    "options",
    [
        {"dbname": "{own}"},
        {"hostaddr": "127.0.0.1"},
        {"service": "eqms"},
        {"host": "127.0.0.1"},
        {"port": 5432},
        {"pool": True},
    ],
)
def test_options_that_name_another_server_or_database_are_refused(admin_api, options):
    options = {
        k: v.format(own=service_db.settings_dict["NAME"]) if isinstance(v, str) else v
        for k, v in options.items()
    }

    refused = errors(
        create(
            admin_api, kind="postgresql", host="erp.example.com", database="erp", options=options
        )
    )

    assert f"{next(iter(options))!r} is not allowed" in refused["options"]


@pytest.mark.parametrize(
    ("kind", "options", "refused"),
    [
        ("mysql", {"unix_socket": "/run/mysqld/mysqld.sock"}, "'unix_socket' is not allowed"),
        ("mysql", {"read_default_file": "/etc/mysql/my.cnf"}, "'read_default_file' is not"),
        ("mysql", {"local_infile": 1}, "'local_infile' is not allowed"),
        ("mysql", {"db": "eqms"}, "'db' is not allowed"),
        (
            "mssql",
            {"extra_params": "TrustServerCertificate=yes;Server=127.0.0.1"},
            "extra_params may not set 'server'",
        ),
        ("mssql", {"extra_params": " DATABASE = eqms"}, "extra_params may not set 'database'"),
        (
            "mssql",
            {"extra_params": "Encrypt=yes;PWD=s3cret-in-clear"},
            "extra_params may not carry 'pwd' (give the username and password fields instead)",
        ),
        ("mssql", {"extra_params": "UID = sa"}, "extra_params may not carry 'uid'"),
    ],
)
def test_mysql_and_sql_server_options_that_name_a_target_are_refused(
    admin_api, kind, options, refused
):
    assert (
        refused
        in errors(
            create(admin_api, kind=kind, host="erp.example.com", database="erp", options=options)
        )["options"]
    )


def test_good_server_options_are_kept(admin_api):
    response = create(
        admin_api,
        kind="mssql",
        host="sql.example.com",
        database="erp",
        options={"extra_params": "TrustServerCertificate=yes", "schema": "erp"},
    )

    assert response.status_code == 201, response.json()


@pytest.fixture
def own_postgres_stored(own_postgres) -> Connection:
    """Stored before these checks existed (no validation on the way in)."""
    return Connection.objects.create(
        name="Own",
        kind="postgresql",
        host="localhost",
        port=None,
        database=own_postgres["name"],
        username=own_postgres["user"],
    )


def test_a_stored_connection_to_the_services_own_database_is_refused_when_used(
    admin_api, own_postgres_stored
):
    from sync.models import SyncConfiguration

    cid = own_postgres_stored.pk
    tested = admin_api.post(f"/api/sync/connections/{cid}/test/").json()
    described = admin_api.get(f"/api/sync/connections/{cid}/describe/?object=auth_user")
    config = SyncConfiguration.objects.create(
        name="users",
        connection=own_postgres_stored,
        entity_type="employees",
        sync_type="full",
        remote_object="auth_user",
        remote_key="id",
        field_mappings=[{"local": "hash", "remote": "password"}],
    )
    preview = admin_api.get(f"/api/sync/configurations/{config.pk}/delta/")

    assert tested["ok"] is False and "service's own database" in tested["message"]
    assert "service's own database" in errors(described)["database"]
    assert preview.status_code == 400
    with pytest.raises(CommandError, match="ended failed"):
        call_command("run_sync", str(config.pk))
    assert "service's own database" in SyncRun.objects.get().error


@pytest.fixture
def port_forward(own_postgres) -> Iterator[int]:
    """A TCP relay from a free local port to the service's PostgreSQL: a spelling of the
    server that no name or port comparison can recognise."""
    listener = socket.create_server(("127.0.0.1", 0))
    target = (service_db.settings_dict["HOST"] or "127.0.0.1", own_postgres["port"])

    def pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            sink.close()

    def serve() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(target)
            threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


def test_the_server_is_asked_who_it_is_so_a_port_forward_does_not_reach_the_own_database(
    admin_api, own_postgres, port_forward
):
    created = create(
        admin_api,
        kind="postgresql",
        host="127.0.0.1",
        port=port_forward,
        database=own_postgres["name"],
        username=own_postgres["user"],
    )
    tested = admin_api.post(f"/api/sync/connections/{created.json()['id']}/test/").json()
    described = admin_api.get(
        f"/api/sync/connections/{created.json()['id']}/describe/?object=auth_user"
    )

    assert created.status_code == 201  # no spelling gives it away before connecting…
    assert tested["ok"] is False  # …the server's own answer does
    assert "service's own database server" in tested["message"]
    assert "service's own database server" in errors(described)["host"]
