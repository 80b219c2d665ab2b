"""Typed readers of the process environment, used only by the settings module.

Every setting comes from the environment; these helpers turn strings into the
right types and fail loudly, naming the variable, when a value cannot be read.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email

from eqms_integration.mssql_options import mssql_options

_env = environ.Env()

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


# Every variable the settings asked for: what `serve` saves for commands run beside it.
NAMES_READ: set[str] = set()


def _get(name: str) -> str | None:
    NAMES_READ.add(name)
    return os.environ.get(name)


def env_str(name: str, default: str = "") -> str:
    raw = _get(name)
    return default if raw is None else raw


def env_bool(name: str, default: bool = False) -> bool:
    raw = _get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false/1/0/yes/no/on/off, not {raw!r}.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = _get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = _get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_networks(name: str) -> list[str]:
    """A comma-separated list of IPv4/IPv6 networks in CIDR notation (host bits allowed)."""
    networks = env_list(name)
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must list networks in CIDR notation (e.g. 10.0.0.0/8, fd00::/8), "
                f"not {network!r}."
            ) from None
    return networks


def database_config(url: str, *, sqlite_dir: Path) -> dict:
    """Translate DATABASE_URL into a Django DATABASES entry.

    postgres://, mysql:// and mssql:// map to Django's PostgreSQL and MySQL backends and to
    mssql-django (ENGINE "mssql"); sqlite:/// to SQLite, tuned for several processes.
    """
    scheme = urlsplit(url).scheme
    if scheme not in {"sqlite", "postgres", "postgresql", "pgsql", "mysql", "mssql"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL has an unsupported scheme {scheme!r}; "
            "use sqlite:///path, postgres://, mysql:// or mssql://."
        )
    config = _env.db_url_config(url)
    engine = config["ENGINE"]
    options = config.setdefault("OPTIONS", {})
    if engine == "django.db.backends.sqlite3":
        name = config.get("NAME") or str(sqlite_dir / "db.sqlite3")
        config["NAME"] = name
        # The web server, the worker and beat share one file: take the write lock when a
        # transaction starts (no upgrade deadlocks), wait for it, let readers run beside writers.
        options.setdefault("transaction_mode", "IMMEDIATE")
        options.setdefault("timeout", 30)
        options.setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
        if name != ":memory:":
            Path(name).parent.mkdir(parents=True, exist_ok=True)
            # Tests use a file, not shared memory, so threads and live servers see each other.
            config["TEST"] = {"NAME": str(Path(name).with_name("test_db.sqlite3"))}
    elif engine == "mssql":
        config["OPTIONS"] = options = mssql_options(options)
    elif engine == "django.db.backends.mysql":
        options.setdefault("charset", "utf8mb4")
    if engine in {"django.db.backends.postgresql", "django.db.backends.mysql"}:
        # An unreachable server fails fast (and /readyz answers 503) instead of hanging.
        options.setdefault("connect_timeout", 10)
    config.setdefault("CONN_MAX_AGE", 0)
    config.setdefault("CONN_HEALTH_CHECKS", True)
    return config


def cache_config(*, cache_url: str, redis_url: str, file_cache_dir: Path) -> dict:
    """CACHE_URL wins; otherwise Redis when configured; otherwise a file cache that
    every local process (web, worker, beat) shares."""
    if cache_url:
        return _env.cache_url_config(cache_url)
    if redis_url:
        return {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            # A Redis that stops answering (not only one that refuses) fails requests fast, so
            # they answer 503 or fall back instead of hanging (eqms_integration/outages.py).
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    # Django's file cache with add/incr locked across processes (eqms_integration/cache.py).
    return {
        "BACKEND": "eqms_integration.cache.LockedFileBasedCache",
        "LOCATION": str(file_cache_dir),
    }


def env_emails(name: str) -> list[str]:
    """A comma-separated list of e-mail addresses, each checked."""
    addresses = env_list(name)
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise ImproperlyConfigured(
                f"{name} must list e-mail addresses separated by commas, not {address!r}."
            ) from None
    return addresses


EMAIL_SCHEMES = {
    "smtp",
    "smtps",
    "smtp+tls",
    "smtp+ssl",
    "consolemail",
    "filemail",
    "memorymail",
    "dummymail",
}


def email_config(url: str) -> dict[str, Any]:
    """EMAIL_URL as Django's EMAIL_* settings (django-environ's reading, plus an absolute
    path for filemail:///path, where it drops the leading slash)."""
    parts = urlsplit(url)
    if parts.scheme not in EMAIL_SCHEMES:
        raise ImproperlyConfigured(
            f"EMAIL_URL has an unsupported scheme {parts.scheme!r}; use smtp://user:password@"
            "host:port (smtp+tls://, smtps://), consolemail:// or filemail:///path."
        )
    config = _env.email_url_config(url)
    options = {k.upper(): str(v).lower() for k, v in config.pop("OPTIONS", {}).items()}
    if options.get("TLS") in TRUE_WORDS:
        config["EMAIL_USE_TLS"] = True
    if options.get("SSL") in TRUE_WORDS or parts.scheme in {"smtps", "smtp+ssl"}:
        # Implicit TLS (port 465); django-environ reads smtps:// as STARTTLS.
        config["EMAIL_USE_SSL"], config["EMAIL_USE_TLS"] = True, False
    if parts.scheme == "filemail":
        if not parts.path.startswith("/"):
            raise ImproperlyConfigured("EMAIL_URL filemail:// needs an absolute path.")
        config["EMAIL_FILE_PATH"] = parts.path
    config["EMAIL_TIMEOUT"] = 10  # a mail server that hangs must not hold a worker
    return {key: value for key, value in config.items() if value is not None}
