"""SSRF guard: which URLs the service may send a request to (webhooks, REST sync connections,
their token URLs and next links).

Checked when a URL is saved and again before every connection, on the addresses the host
resolves to then; the HTTP clients connect to the address checked here
(`eqms_integration.pinned_http`), so a DNS answer that changes between check and connect
(rebinding) cannot redirect the request. Each caller has its own operator allowlist (a
`Policy`): an on-premise ERP allowed for sync is not thereby a webhook receiver.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services (AWS/GCP/Azure/OpenStack, AWS IPv6): blocked even when allowlisted.
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
NAT64_NETWORKS = (
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
)
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_-]+)*\.?$")
DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeURLError(ValueError):
    """The URL may not be contacted; `rule` names the rule that refused it."""

    def __init__(self, message: str, *, rule: str) -> None:
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True)
class CheckedTarget:
    scheme: str
    host: str  # as written in the URL (lower-case, IDNA), for Host and TLS SNI
    port: int
    path: str  # path and query
    address: str  # the checked address to connect to

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to (a module function so tests can stand in for DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0].split("%", 1)[0] for info in infos))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, 6to4, NAT64, Teredo or IPv4-compatible address."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if any(ip in net for net in NAT64_NETWORKS) or (ip in IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.teredo:
        return ip.teredo[1]
    return None


def _category(ip: IPAddress) -> str | None:
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.version == 6 and ip in UNIQUE_LOCAL:
        return "unique-local"
    if ip.is_reserved:  # before private: Python counts 240.0.0.0/4 as both
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "special-purpose (not globally routable)"
    return None


@dataclass(frozen=True)
class Policy:
    """Who sends (for messages) and which settings relax the guard for them: the CIDRs in
    `<prefix>_ALLOWED_NETWORKS` and the host names in `<prefix>_ALLOWED_HOSTS`, read at each
    check so that a changed allowlist holds at once."""

    sender: str  # "webhooks go", "sync connections go"
    setting_prefix: str  # "WEBHOOK", "SYNC"

    @property
    def networks_setting(self) -> str:
        return f"{self.setting_prefix}_ALLOWED_NETWORKS"

    @property
    def hosts_setting(self) -> str:
        return f"{self.setting_prefix}_ALLOWED_HOSTS"

    def networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        cidrs = getattr(settings, self.networks_setting, [])
        return [ipaddress.ip_network(cidr, strict=False) for cidr in cidrs]

    def host_allowed(self, host: str) -> bool:
        for allowed in getattr(settings, self.hosts_setting, []):
            allowed = allowed.lower().rstrip(".")
            if allowed.startswith(".") and (host.endswith(allowed) or host == allowed[1:]):
                return True
            if host.rstrip(".") == allowed:
                return True
        return False


WEBHOOKS = Policy(sender="webhooks go", setting_prefix="WEBHOOK")
SYNC = Policy(sender="sync connections go", setting_prefix="SYNC")


def is_metadata(ip: IPAddress) -> bool:
    """The cloud metadata address, also in an IPv4-mapped, 6to4 or NAT64 form."""
    embedded = _embedded_ipv4(ip) if ip.version == 6 else None
    return ip in METADATA_ADDRESSES or embedded in METADATA_ADDRESSES


def address_rule(ip: IPAddress, policy: Policy, *, host_allowed: bool = False) -> str | None:
    """The blocking rule an address falls under, or None when it may be contacted."""
    if is_metadata(ip):
        return "cloud metadata"
    if host_allowed or any(ip in net for net in policy.networks()):
        return None
    embedded = _embedded_ipv4(ip) if ip.version == 6 else None
    if embedded is not None:
        inner = _category(embedded)
        if inner:
            return f"IPv4-mapped/6to4/NAT64 form of a {inner} address"
    return _category(ip)


def _refusal(host: str, ip: IPAddress, rule: str, policy: Policy) -> UnsafeURLError:
    if rule == "cloud metadata":
        return UnsafeURLError(
            f"The host {host} is the cloud metadata address {ip}, which is always blocked.",
            rule=rule,
        )
    return UnsafeURLError(
        f"The host {host} resolves to {ip}, which is blocked by the rule '{rule}': "
        f"{policy.sender} only to public addresses. An operator can allow an on-premise "
        f"system with the setting {policy.networks_setting} (e.g. {ip}/{ip.max_prefixlen}) "
        f"or {policy.hosts_setting} (e.g. {host}).",
        rule=rule,
    )


def _parse_host(raw_host: str) -> tuple[str, IPAddress | None]:
    try:
        return raw_host, ipaddress.ip_address(raw_host)
    except ValueError:
        pass
    try:
        socket.inet_aton(raw_host)
    except OSError:
        pass
    else:
        # 2130706433, 0x7f000001, 0177.0.0.1, 127.1: forms parsers disagree about.
        raise UnsafeURLError(
            f"The host {raw_host} is an IPv4 address in a non-standard notation (decimal, hex, "
            "octal or shortened); write it as four decimal numbers, e.g. 203.0.113.7.",
            rule="non-canonical IPv4",
        )
    try:
        host = raw_host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        host = ""
    if not HOSTNAME.match(host):
        raise UnsafeURLError(f"The host {raw_host!r} is not a valid host name.", rule="host")
    return host, None


def url_check(url: str, policy: Policy) -> CheckedTarget:
    """Parse, resolve and check a URL; raise UnsafeURLError saying which rule refused it."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeURLError(f"The URL is malformed: {exc}.", rule="malformed") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UnsafeURLError(
            f"Only http and https URLs are allowed, not {scheme or 'a URL without scheme'}.",
            rule="scheme",
        )
    if parts.username or parts.password:
        raise UnsafeURLError(
            "The URL may not contain a user name or password; give credentials separately "
            "(custom headers, a connection's credentials).",
            rule="credentials",
        )
    if not parts.hostname:
        raise UnsafeURLError("The URL has no host.", rule="malformed")
    host, literal = _parse_host(parts.hostname)
    port = port or DEFAULT_PORTS[scheme]
    allowed = literal is None and policy.host_allowed(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            addresses = [ipaddress.ip_address(a) for a in resolve(host, port)]
        except (OSError, UnicodeError) as exc:
            raise UnsafeURLError(
                f"The host {host} cannot be resolved ({exc}).", rule="unresolvable"
            ) from None
        if not addresses:
            raise UnsafeURLError(f"The host {host} has no address.", rule="unresolvable")
    for ip in addresses:
        rule = address_rule(ip, policy, host_allowed=allowed)
        if rule:
            raise _refusal(host, ip, rule, policy)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return CheckedTarget(scheme=scheme, host=host, port=port, path=path, address=str(addresses[0]))
