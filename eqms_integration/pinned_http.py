"""HTTP connections to the address the SSRF guard checked, for every outgoing request.

A connection pool is opened on the checked IP address while the Host header and TLS (SNI and
the certificate's host name check) use the URL's host name, so the name is resolved once, by
the guard, and a second DNS answer can never be used. Webhooks drive a pool directly
(`pinned_pool`); clients built on `requests` mount `PinnedAdapter`, which checks every request
it sends (base URLs, token URLs, next links alike) before it connects.
"""

from __future__ import annotations

from typing import Any

import certifi
import urllib3
from requests import PreparedRequest
from requests.adapters import HTTPAdapter

from eqms_integration.ssrf import CheckedTarget, Policy, url_check

PoolKey = tuple[str, str, int, str]


def pinned_pool(
    target: CheckedTarget, *, timeout: urllib3.Timeout | None = None, maxsize: int = 1
) -> urllib3.HTTPConnectionPool:
    """A pool whose connections go to `target.address`, verifying TLS for `target.host`."""
    options: dict[str, Any] = {"maxsize": maxsize, "retries": False, "block": False}
    if timeout is not None:
        options["timeout"] = timeout
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            server_hostname=target.host,
            assert_hostname=target.host,
            **options,
        )
    return urllib3.HTTPConnectionPool(target.address, target.port, **options)


class PinnedAdapter(HTTPAdapter):
    """A `requests` transport that sends nothing the guard refuses: each request's URL is
    checked (raising `UnsafeURLError`) and sent to the checked address, with the URL's host in
    Host. Pools are kept per (address, host) so paging through one API reuses its connection;
    an answer that resolves elsewhere later gets a pool of its own, checked like the first.
    Proxies are never used: a proxy would make the connection the guard did not check."""

    def __init__(self, policy: Policy) -> None:
        super().__init__(max_retries=0)
        self.policy = policy
        self._pools: dict[PoolKey, urllib3.HTTPConnectionPool] = {}

    def get_connection_with_tls_context(
        self, request: PreparedRequest, verify: Any, proxies: Any = None, cert: Any = None
    ) -> urllib3.HTTPConnectionPool:
        target = url_check(request.url or "", self.policy)
        request.headers["Host"] = target.host_header
        key = (target.scheme, target.address, target.port, target.host)
        if key not in self._pools:
            self._pools[key] = pinned_pool(target)
        return self._pools[key]

    def request_url(self, request: PreparedRequest, proxies: Any) -> str:
        return request.path_url

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
        super().close()
