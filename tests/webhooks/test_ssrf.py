"""The SSRF guard against a corpus of tricky addresses, and its operator allowlists."""

from __future__ import annotations

import pytest

from eqms_integration import ssrf
from eqms_integration.ssrf import WEBHOOKS, UnsafeURLError
from webhooks.http_client import post_guarded


def url_check(url: str) -> ssrf.CheckedTarget:
    return ssrf.url_check(url, WEBHOOKS)


BLOCKED = [
    ("http://127.0.0.1/", "loopback"),
    ("http://2130706433/", "non-canonical IPv4"),
    ("http://0x7f000001/", "non-canonical IPv4"),
    ("http://0177.0.0.1/", "non-canonical IPv4"),
    ("http://127.1/", "non-canonical IPv4"),
    ("http://[::1]/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "IPv4-mapped/6to4/NAT64 form of a loopback address"),
    ("http://[::ffff:7f00:1]/", "IPv4-mapped/6to4/NAT64 form of a loopback address"),
    ("http://[2002:7f00:1::]/", "IPv4-mapped/6to4/NAT64 form of a loopback address"),
    ("http://[64:ff9b::7f00:1]/", "IPv4-mapped/6to4/NAT64 form of a loopback address"),
    ("http://[64:ff9b::a00:1]/", "IPv4-mapped/6to4/NAT64 form of a private address"),
    ("http://localhost/", "loopback"),
    ("http://10.1.2.3/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://192.168.1.1:8080/hook", "private"),
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("http://[::ffff:169.254.169.254]/", "cloud metadata"),
    ("http://169.254.10.10/", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[fd12:3456::1]/", "unique-local"),
    ("http://224.0.0.1/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://100.64.0.1/", "special-purpose (not globally routable)"),
    ("ftp://example.com/", "scheme"),
    ("file:///etc/passwd", "scheme"),
    ("gopher://example.com/", "scheme"),
    ("http://user:pw@example.com/", "credentials"),
    ("http:///nohost", "malformed"),
    ("http://example.com:99999/", "malformed"),
    ("http://exa mple.com/", "host"),
]


@pytest.mark.parametrize(("url", "rule"), BLOCKED)
def test_the_guard_refuses_internal_and_malformed_urls_naming_the_rule(url, rule):
    with pytest.raises(UnsafeURLError) as refused:
        url_check(url)

    assert refused.value.rule == rule


def test_the_refusal_says_how_an_operator_can_allow_the_address():
    with pytest.raises(UnsafeURLError) as refused:
        url_check("http://localhost:8080/hook")

    message = str(refused.value)
    assert "127.0.0.1" in message and "'loopback'" in message
    assert "WEBHOOK_ALLOWED_NETWORKS" in message and "WEBHOOK_ALLOWED_HOSTS" in message


def test_a_public_address_passes_and_is_the_address_connected_to():
    target = url_check("https://93.184.215.14:8443/path?x=1")

    assert (target.address, target.port, target.path) == ("93.184.215.14", 8443, "/path?x=1")
    assert target.host_header == "93.184.215.14:8443"


def test_a_name_is_refused_if_any_of_its_addresses_is_internal(monkeypatch):
    monkeypatch.setattr(ssrf, "resolve", lambda host, port: ["93.184.215.14", "10.0.0.5"])

    with pytest.raises(UnsafeURLError, match=r"10\.0\.0\.5"):
        url_check("https://hooks.example.com/")


def test_allowed_networks_let_an_on_premise_receiver_through(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["10.20.0.0/16"]

    assert url_check("http://10.20.3.4/hook").address == "10.20.3.4"
    with pytest.raises(UnsafeURLError):
        url_check("http://10.21.0.1/hook")


def test_allowed_hosts_let_a_named_receiver_through(settings, monkeypatch):
    monkeypatch.setattr(ssrf, "resolve", lambda host, port: ["10.9.9.9"])
    settings.WEBHOOK_ALLOWED_HOSTS = [".plant.local"]

    assert url_check("http://qms.plant.local/hook").address == "10.9.9.9"
    with pytest.raises(UnsafeURLError):
        url_check("http://other.local/hook")


def test_the_metadata_address_stays_blocked_whatever_the_operator_allows(settings, monkeypatch):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["0.0.0.0/0", "::/0"]
    settings.WEBHOOK_ALLOWED_HOSTS = ["metadata.internal"]
    monkeypatch.setattr(ssrf, "resolve", lambda host, port: ["169.254.169.254"])

    for url in ("http://169.254.169.254/", "http://metadata.internal/"):
        with pytest.raises(UnsafeURLError) as refused:
            url_check(url)
        assert refused.value.rule == "cloud metadata"


def test_the_connection_goes_to_the_checked_address_with_one_lookup(
    receiver, settings, monkeypatch
):
    """DNS rebinding: the name is resolved once; a second answer could never be used."""
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.test"]
    answers = iter([["127.0.0.1"], ["169.254.169.254"]])
    lookups = []

    def resolve(host, port):
        lookups.append(host)
        return next(answers)

    monkeypatch.setattr(ssrf, "resolve", resolve)

    result = post_guarded(
        url=f"http://hooks.example.test:{receiver.port}/in", body=b"{}", headers={}
    )

    assert result.status_code == 200
    assert lookups == ["hooks.example.test"]
    assert receiver.requests[0].headers["Host"] == f"hooks.example.test:{receiver.port}"
    assert receiver.requests[0].path == "/in"


def test_the_guard_is_applied_again_at_send_time(receiver, settings):
    """A URL allowed when saved but not any more (the allowlist changed) is not contacted."""
    settings.WEBHOOK_ALLOWED_NETWORKS = []

    result = post_guarded(url=receiver.url, body=b"{}", headers={})

    assert result.status_code is None and "SSRF guard" in result.error
    assert receiver.requests == []
