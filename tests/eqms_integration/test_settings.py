"""Settings come from the environment only and refuse unsafe production values loudly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from eqms_integration.env import (
    cache_config,
    database_config,
    env_bool,
    env_int,
    env_networks,
)
from tests.testenv import TEST_DEFAULTS

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "p" * 30 + "-production-like-secret-key-for-checks",
    "ALLOWED_HOSTS": "eqms.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://eqms.example.com",
    "FIELD_ENCRYPTION_KEYS": "dGhpcnR5LXR3by1ieXRlLWtleS1mb3ItdGVzdHMtMDE=",
}


def manage(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    # A clean slate: nothing of this test run's own configuration leaks into the child.
    dropped = {*PRODUCTION, *TEST_DEFAULTS, "DATABASE_URL"}
    base = {k: v for k, v in os.environ.items() if k not in dropped}
    base.update({"EQMS_VAR_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)})
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (None, "SECRET_KEY is missing or is the development default"),
        (
            "insecure-development-key-never-use-in-production-0123456789abcdef",
            "development default",
        ),
        ("short-key", "at least 50 random characters"),
    ],
)
def test_with_debug_off_a_missing_default_or_short_secret_key_stops_startup(
    tmp_path, secret, message
):
    env = {**PRODUCTION}
    env.pop("SECRET_KEY")
    if secret is not None:
        env["SECRET_KEY"] = secret

    result = manage("check", env=env, tmp_path=tmp_path)

    assert result.returncode != 0
    assert message in result.stderr


def test_check_deploy_passes_with_production_like_values(tmp_path):
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION, tmp_path=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_when_secrets_at_rest_have_no_encryption_key(tmp_path):
    env = {**PRODUCTION}
    env.pop("FIELD_ENCRYPTION_KEYS")

    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env, tmp_path=tmp_path)

    assert result.returncode != 0
    assert "eqms.W001" in result.stderr


def test_a_malformed_encryption_key_is_an_error_naming_its_position(tmp_path):
    env = {**PRODUCTION, "FIELD_ENCRYPTION_KEYS": f"{PRODUCTION['FIELD_ENCRYPTION_KEYS']},nope"}

    result = manage("check", env=env, tmp_path=tmp_path)

    assert result.returncode != 0
    assert "entry 2 is not a Fernet key" in result.stderr
    assert "nope" not in result.stderr


def test_a_bad_boolean_names_the_variable(tmp_path):
    result = manage("check", env={**PRODUCTION, "DEBUG": "maybe"}, tmp_path=tmp_path)

    assert result.returncode != 0
    assert "DEBUG must be one of" in result.stderr


@pytest.mark.parametrize(
    ("url", "engine", "name"),
    [
        ("postgres://u:p@db.example:5433/qms", "django.db.backends.postgresql", "qms"),
        ("postgresql://u@db/qms", "django.db.backends.postgresql", "qms"),
        ("mysql://root@127.0.0.1:3306/qms", "django.db.backends.mysql", "qms"),
        ("mssql://sa:Secret1@sql.example:1433/QMS", "mssql", "QMS"),
    ],
)
def test_database_url_schemes_map_to_the_real_backends(tmp_path, url, engine, name):
    config = database_config(url, sqlite_dir=tmp_path)

    assert (config["ENGINE"], config["NAME"]) == (engine, name)


def test_mssql_urls_use_the_driver_mssql_python_bundles_unless_one_is_named(tmp_path):
    bundled = database_config("mssql://sa:pw@sql:1433/QMS", sqlite_dir=tmp_path)
    named = database_config(
        "mssql://sa:pw@sql:1433/QMS?driver=ODBC+Driver+18+for+SQL+Server", sqlite_dir=tmp_path
    )

    assert bundled["OPTIONS"]["python_driver"] == "mssql_python"
    assert (bundled["HOST"], bundled["PORT"], bundled["USER"]) == ("sql", 1433, "sa")
    assert named["OPTIONS"] == {"driver": "ODBC Driver 18 for SQL Server"}


def test_the_bundled_sql_server_driver_loads_and_gets_a_connection_string_it_accepts(tmp_path):
    from tests.conftest import mssql_backend

    base = mssql_backend()
    DatabaseWrapper, _load_mssql_python = base.DatabaseWrapper, base._load_mssql_python
    config = database_config("mssql://sa:pw@sql:1433/QMS", sqlite_dir=tmp_path)
    wrapper = DatabaseWrapper({**config, "TIME_ZONE": None, "CONN_MAX_AGE": 0})

    assert _load_mssql_python().__name__ == "mssql_python"
    cstr = wrapper._build_connection_string(wrapper.get_connection_params(), None)
    assert "SERVER=sql,1433" in cstr and "DATABASE=QMS" in cstr
    assert "DRIVER=" not in cstr.upper()


def test_server_databases_fail_fast_when_unreachable(tmp_path):
    for url in ("postgres://u@db/qms", "mysql://root@db/qms"):
        assert database_config(url, sqlite_dir=tmp_path)["OPTIONS"]["connect_timeout"] == 10


def test_the_default_sqlite_database_is_tuned_for_several_processes(tmp_path):
    config = database_config(f"sqlite:///{tmp_path / 'x.sqlite3'}", sqlite_dir=tmp_path)

    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]


def test_an_unsupported_database_scheme_is_refused(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="unsupported scheme 'oracle'"):
        database_config("oracle://x@y/z", sqlite_dir=tmp_path)


def test_cache_url_wins_then_redis_then_a_shared_file_cache(tmp_path):
    assert cache_config(cache_url="locmemcache://", redis_url="redis://r", file_cache_dir=tmp_path)[
        "BACKEND"
    ].endswith("LocMemCache")
    redis = cache_config(cache_url="", redis_url="redis://r:6379/1", file_cache_dir=tmp_path)
    assert redis == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://r:6379/1",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
    assert cache_config(cache_url="", redis_url="", file_cache_dir=tmp_path)["BACKEND"].endswith(
        "FileBasedCache"
    )


def test_typed_readers_reject_values_of_the_wrong_type(monkeypatch):
    monkeypatch.setenv("X_FLAG", "sometimes")
    monkeypatch.setenv("X_NUMBER", "ten")
    monkeypatch.setenv("X_SMALL", "-1")

    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env_bool("X_FLAG")
    with pytest.raises(ImproperlyConfigured, match="X_NUMBER must be an integer"):
        env_int("X_NUMBER", 1)
    with pytest.raises(ImproperlyConfigured, match="X_SMALL must be at least 0"):
        env_int("X_SMALL", 1, minimum=0)


def test_network_lists_are_read_as_cidrs_and_a_bad_one_names_the_variable(monkeypatch):
    monkeypatch.setenv("X_NETS", " 10.0.0.0/8, 192.168.1.7/24,fd00::/8 ")
    monkeypatch.setenv("X_BAD_NETS", "10.0.0.0/8, 10.0.0.0/33")

    assert env_networks("X_NETS") == ["10.0.0.0/8", "192.168.1.7/24", "fd00::/8"]
    assert env_networks("X_UNSET_NETS") == []
    with pytest.raises(ImproperlyConfigured, match=r"X_BAD_NETS .*'10\.0\.0\.0/33'"):
        env_networks("X_BAD_NETS")


def test_without_a_broker_url_celery_uses_files_under_the_var_folder(settings):
    if os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL"):
        pytest.skip("this run configures a broker")
    assert settings.CELERY_BROKER_URL == "filesystem://"
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"].startswith(
        str(settings.VAR_DIR)
    )


def test_redis_url_becomes_broker_and_cache(tmp_path):
    script = (
        "from django.conf import settings as s;"
        "print(s.CELERY_BROKER_URL);print(s.CACHES['default']['BACKEND'])"
    )
    env = {**PRODUCTION, "REDIS_URL": "redis://cache.example:6379/2"}
    base = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "CACHE_URL")}
    result = subprocess.run(
        [sys.executable, "-c", f"import django;django.setup();{script}"],
        env={
            **base,
            **env,
            "EQMS_VAR_DIR": str(tmp_path),
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "eqms_integration.settings",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "redis://cache.example:6379/2",
        "django.core.cache.backends.redis.RedisCache",
    ]


def test_an_mssql_database_url_loads_mssql_djangos_backend(tmp_path):
    """The SQL Server stack installs and imports (pyodbc needs unixODBC from the OS)."""
    from django.db.utils import load_backend

    from tests.conftest import mssql_backend

    mssql_backend()
    config = database_config("mssql://sa:Secret1@sql.example:1433/QMS", sqlite_dir=tmp_path)

    backend = load_backend(config["ENGINE"])

    assert backend.DatabaseWrapper.vendor == "microsoft"
