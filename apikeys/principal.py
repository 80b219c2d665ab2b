"""What a verified API key looks like to the rest of the request (request.auth, request.user)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from apikeys.scopes import grants


@dataclass(frozen=True)
class KeyPrincipal:
    """A snapshot of a verified key, safe to cache: no secret, no hash."""

    id: int
    key_id: str
    name: str
    scopes: frozenset[str]
    allowed_networks: tuple[str, ...]
    expires_at: datetime | None
    rate_limit_per_minute: int | None
    generation: int

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    def allows_ip(self, ip: str) -> bool:
        if not self.allowed_networks:
            return True
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(
            address in ipaddress.ip_network(network, strict=False)
            for network in self.allowed_networks
        )

    def has_scope(self, scope: str) -> bool:
        return grants(self.scopes, scope)


@dataclass(frozen=True)
class KeyUser:
    """request.user for API-key requests: authenticated, but holds no Django permission and
    is never staff. Its string names the key so logs say who called."""

    principal: KeyPrincipal = field(repr=False)
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False
    pk: None = None
    id: None = None

    @property
    def username(self) -> str:
        return f"apikey:{self.principal.key_id}"

    def __str__(self) -> str:
        return f"API key {self.principal.name!r} ({self.principal.key_id})"

    def get_username(self) -> str:
        return self.username

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False

    def has_perms(self, perms: Any, obj: Any = None) -> bool:
        return False

    def has_module_perms(self, app_label: str) -> bool:
        return False
