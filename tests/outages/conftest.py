"""Fault tests: servers of the tests' own, stopped and started mid-test (tests/outages/servers.py).
Mandatory in CI; elsewhere they skip, naming what is missing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.conftest import need_service
from tests.outages.servers import (
    PostgresCluster,
    RedisServer,
    postgres_bindir,
    postgres_owner,
    redis_executable,
    temporary_directory,
)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    executable = redis_executable()
    need_service(executable is not None, "redis-server (Debian package redis-server)")
    directory = temporary_directory("eqms-redis-")
    server = RedisServer(executable=executable, directory=directory)
    server.start()
    try:
        yield server
    finally:
        if server.process is not None:
            server.resume()  # a paused server cannot be killed cleanly otherwise
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres_cluster() -> Iterator[PostgresCluster]:
    bindir, missing = postgres_bindir()
    need_service(bindir is not None, missing)
    owner, missing = postgres_owner()
    need_service(not missing, missing)
    cluster = PostgresCluster(bindir=bindir, directory=temporary_directory("eqms-pg-"), owner=owner)
    cluster.create()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def redis_cache(redis_server, settings) -> RedisServer:
    """The Django cache on the test's own Redis, with short socket timeouts."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_server.url(0),
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    return redis_server
