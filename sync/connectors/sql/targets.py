"""Which databases an SQL connection may open: never the service's own.

A sync connection holds whatever its configurations read, so a connection to the service's
own database would read its sessions and password hashes. Checked on save and every time a
connector is built from a connection (`sync.connectors.factory.connector_for`):

- SQLite: an existing regular file under a directory of SYNC_SQLITE_DIRS (none by default:
  SQLite connections are refused), never the service's database file nor anything under
  EQMS_VAR_DIR, after resolving symlinks and `..`, and not another name (hard link) for one of
  them. The file is opened read-write but never created (`mode=rw`).
- PostgreSQL, MySQL/MariaDB, SQL Server: not the server and database of the service however
  spelled (loopback forms, this machine's names and addresses, the default port written or
  not), and options limited to those that cannot name another server or database. After
  connecting, the server is asked who it is (`refuse_own_server`), which also catches what
  no spelling shows: a DNS alias that changed, a port forward, a pooler in front.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import re
import socket
import stat
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from sync.connectors.errors import ConnectorError
from sync.connectors.sql.identifiers import execute

logger = logging.getLogger(__name__)
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mssql": 1433}
VENDORS = {"postgresql": "postgresql", "mysql": "mysql", "mssql": "microsoft"}
LOCAL_NAMES = {"", "localhost", "localhost.localdomain", "(local)", ".", "ip6-localhost"}
LOCAL = "this machine"
# Options each kind may carry: none of them names a server, a database or a local file the
# server could ask for (MySQL's local_infile), or runs SQL on our side (SQLite's init_command).
ALLOWED_OPTIONS = {
    "sqlite": {"schema"},
    "postgresql": {
        "schema",
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "sslcrl",
        "application_name",
        "options",
        "target_session_attrs",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "isolation_level",
        "assume_role",
    },
    "mysql": {
        "schema",
        "charset",
        "ssl",
        "ssl_mode",
        "init_command",
        "isolation_level",
        "sql_mode",
    },
    "mssql": {
        "schema",
        "driver",
        "dsn",
        "python_driver",
        "extra_params",
        "unicode_results",
        "connection_retries",
        "connection_retry_backoff_time",
        "query_timeout",
        "isolation_level",
        "setencoding",
        "setdecoding",
        "collation",
        "datefirst",
    },
}
# ODBC connection-string keys that choose the server or database (SQL Server extra_params).
ODBC_TARGET_KEYS = {
    "server",
    "address",
    "addr",
    "network address",
    "database",
    "initial catalog",
    "dsn",
    "filedsn",
    "savefile",
    "attachdbfilename",
    "driver",
}
# ODBC keys that carry credentials: those belong in the connection's username and password
# (encrypted at rest, never shown or audited), not in an option stored and shown in clear.
ODBC_CREDENTIAL_KEYS = {"uid", "user id", "user", "pwd", "password"}


class TargetRefused(ConnectorError):
    """The connection points where sync connections may not go; `field` is the field to fix."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


# SQLite ---------------------------------------------------------------------------------------


def _inside(path: str, folder: str) -> bool:
    return os.path.commonpath([path, folder]) == folder


def _protected_files() -> list[str]:
    """The SQLite files of the service's own databases (also under tests' names)."""
    names = set()
    for alias in connections:
        wrapper = connections[alias]
        if wrapper.vendor == "sqlite":
            names.add(wrapper.settings_dict["NAME"])
            names.add((wrapper.settings_dict.get("TEST") or {}).get("NAME") or "")
            names.add(settings.DATABASES[alias]["NAME"])
    return [os.path.realpath(n) for n in names if n and not str(n).startswith((":", "file:"))]


def _same_file(info: os.stat_result, others: Iterable[str]) -> bool:
    for other in others:
        try:
            seen = os.stat(other)
        except OSError:
            continue
        if (seen.st_dev, seen.st_ino) == (info.st_dev, info.st_ino):
            return True
    return False


def _linked_into(info: os.stat_result, folder: str) -> bool:
    """Whether a file with several names has one under `folder` (walked only then)."""
    if info.st_nlink < 2:
        return False
    for root, _, files in os.walk(folder):
        if _same_file(info, (os.path.join(root, name) for name in files)):
            return True
    return False


def sqlite_file(database: str) -> str:
    """The real path of an SQLite connection's file, or TargetRefused saying why not."""
    allowed = [os.path.realpath(d) for d in settings.SYNC_SQLITE_DIRS]
    if not allowed:
        raise TargetRefused(
            "SQLite connections are turned off: the operator allows no directory for SQLite "
            "files (setting SYNC_SQLITE_DIRS).",
            field="kind",
        )
    if database.startswith("file:") or not os.path.isabs(database):
        raise TargetRefused(
            "Give the absolute path of an existing SQLite file (no file: URI).", field="database"
        )
    real = os.path.realpath(database)
    var_dir = os.path.realpath(settings.VAR_DIR)
    protected = _protected_files()
    if real in protected or _inside(real, var_dir):
        raise TargetRefused(
            f"{database} is the service's own database or lies in its data directory "
            "(EQMS_VAR_DIR); sync connections never open it.",
            field="database",
        )
    if not any(_inside(real, folder) for folder in allowed):
        raise TargetRefused(
            f"{database} is not in a directory allowed for SQLite files (setting "
            f"SYNC_SQLITE_DIRS: {', '.join(settings.SYNC_SQLITE_DIRS)}).",
            field="database",
        )
    try:
        info = os.stat(real)
    except OSError as exc:
        missing = exc.errno in (errno.ENOENT, errno.ENOTDIR)
        reason = "does not exist (nothing is created)" if missing else "cannot be read"
        raise TargetRefused(f"{database} {reason}.", field="database") from None
    if not stat.S_ISREG(info.st_mode):
        raise TargetRefused(f"{database} is not a regular file.", field="database")
    if _same_file(info, protected) or _linked_into(info, var_dir):
        raise TargetRefused(
            f"{database} is another name (a hard link) for a file of the service's own; "
            "sync connections never open it.",
            field="database",
        )
    return real


def sqlite_uri(path: str) -> str:
    """The URI Django's SQLite backend (which opens names as URIs) gets: read-write, never
    create, so a test or run of a connection whose file went missing creates nothing."""
    return f"file:{quote(path)}?mode=rw"


# Server databases -----------------------------------------------------------------------------


def _this_machine(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback or ip.is_unspecified:
        return True
    # An address of one of this machine's interfaces is one a socket can be bound to.
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((str(ip), 0))
    except OSError:
        return False
    return True


def _addresses(host: str) -> set[str]:
    """The addresses a host name stands for; this machine's own all count as LOCAL."""
    host = host.strip().strip("[]").lower().rstrip(".")
    if host in LOCAL_NAMES or host.endswith(".localhost") or host.startswith(("/", "@")):
        return {LOCAL}  # a Unix socket (PostgreSQL), or a name that is always this machine
    if host == socket.gethostname().lower() or host == socket.getfqdn().lower():
        return {LOCAL}
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return set()  # not resolvable now: checked again before every connection
    found = {info[4][0].split("%", 1)[0] for info in infos}
    return {LOCAL if _this_machine(a) else a for a in found}


def _endpoints(kind: str, host: str, port: int | str | None) -> list[tuple[set[str], int, str]]:
    """(addresses, port, SQL Server instance) of each server a connection may reach:
    PostgreSQL takes comma-separated host lists, SQL Server `tcp:host\\instance,port`."""
    instance = ""
    hosts = [host or ""]
    if kind == "postgresql":
        hosts = (host or "").split(",")
    elif kind == "mssql":
        host = re.sub(r"^(tcp|np|lpc|admin):", "", (host or "").strip(), flags=re.IGNORECASE)
        host, _, written_port = host.partition(",")
        port = written_port.strip() or port
        host, _, instance = host.partition("\\")
        hosts = [host]
    try:
        number = int(str(port).strip()) if str(port or "").strip() else DEFAULT_PORTS[kind]
    except ValueError:
        number = -1
    return [(_addresses(h), number, instance.strip().lower()) for h in hosts]


def _service_databases(kind: str) -> list[dict[str, Any]]:
    vendor = VENDORS[kind]
    return [connections[a].settings_dict for a in connections if connections[a].vendor == vendor]


def refuse_own_database(*, kind: str, host: str, port: int | None, database: str) -> None:
    """TargetRefused when the connection names the server and database of the service."""
    for own in _service_databases(kind):
        if str(own["NAME"] or "").casefold() != database.strip().casefold():
            continue
        ours = _endpoints(kind, own["HOST"], own["PORT"])
        for addresses, number, instance in _endpoints(kind, host, port):
            if any(addresses & a and number == n and instance == i for a, n, i in ours):
                raise TargetRefused(
                    f"{host or 'localhost'}:{number} / {database} is the service's own "
                    "database; sync connections never reach it.",
                    field="database",
                )


def refuse_options(kind: str, options: Any) -> None:
    """TargetRefused naming every option that could point the connection elsewhere."""
    if not isinstance(options, dict):
        return  # said by the connection's own validation
    unknown = sorted(set(options) - ALLOWED_OPTIONS[kind])
    problems = [f"{name!r} is not allowed" for name in unknown]
    extra = options.get("extra_params") if kind == "mssql" else None
    if extra is not None:
        keys = {part.partition("=")[0].strip().lower() for part in str(extra).split(";")}
        problems += [f"extra_params may not set {k!r}" for k in sorted(keys & ODBC_TARGET_KEYS)]
        problems += [
            f"extra_params may not carry {k!r} (give the username and password fields instead)"
            for k in sorted(keys & ODBC_CREDENTIAL_KEYS)
        ]
    if problems:
        allowed = ", ".join(sorted(ALLOWED_OPTIONS[kind]))
        raise TargetRefused(
            f"{'; '.join(problems)} (options of {kind} connections: {allowed}). The server "
            "and database are given by host, port and database only.",
            field="options",
        )


def check_target(*, kind: str, host: str, port: int | None, database: str, options: Any) -> str:
    """Raise TargetRefused if the connection may not be opened; returns the database name to
    open (for SQLite the URI of the checked file)."""
    refuse_options(kind, options)
    if kind == "sqlite":
        return sqlite_uri(sqlite_file(database))
    refuse_own_database(kind=kind, host=host, port=port, database=database)
    return database


# Who the server says it is --------------------------------------------------------------------

IDENTITY_QUERIES = {
    # Start time to the microsecond tells servers apart; a database is one per name on it.
    "postgresql": "SELECT CAST(pg_postmaster_start_time() AS text), current_database()",
    # A MySQL login reads every database it has rights on, so the server is what counts.
    "mysql": "SELECT @@hostname, @@port, @@datadir",
    "microsoft": (
        "SELECT CAST(SERVERPROPERTY('MachineName') AS nvarchar(256)) + '\\' + "
        "CAST(ISNULL(SERVERPROPERTY('InstanceName'), '') AS nvarchar(256)), DB_NAME()"
    ),
}
MYSQL_SEES_DATABASE = "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = %s"


def _identity(db: BaseDatabaseWrapper) -> tuple[str, ...]:
    with db.cursor() as cursor:
        execute(cursor, IDENTITY_QUERIES[db.vendor])
        return tuple(str(value) for value in cursor.fetchone())


def refuse_own_server(db: BaseDatabaseWrapper) -> None:
    """After connecting: TargetRefused if the server answering is the service's own database
    (MySQL: its server, when this login can see the service's database there). A server that
    cannot say who it is is refused too: the service's own always can."""
    own = [connections[a] for a in connections if connections[a].vendor == db.vendor]
    if db.vendor not in IDENTITY_QUERIES or not own:
        return
    try:
        theirs = _identity(db)
    except Exception as exc:
        raise TargetRefused(
            f"Could not tell whether this server is the service's own database "
            f"({type(exc).__name__}); refused.",
            field="host",
        ) from None
    for service in own:
        try:
            ours = _identity(service)
        except Exception as exc:  # our own database is down: nothing works anyway
            logger.warning("Could not ask the service's database who it is: %s", exc)
            continue
        if ours != theirs:
            continue
        if db.vendor == "mysql":
            with db.cursor() as cursor:
                execute(cursor, MYSQL_SEES_DATABASE, [service.settings_dict["NAME"]])
                if not cursor.fetchone()[0]:
                    continue
        raise TargetRefused(
            "This server is the service's own database server and this login reaches the "
            "service's database; sync connections never do.",
            field="host",
        )
