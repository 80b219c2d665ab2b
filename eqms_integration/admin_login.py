"""Failure caps of the admin login: password guessing from one address is refused after a few
failures, without locking the user out of other addresses (an attacker must not be able to lock
an administrator out by guessing their password from elsewhere).

Per window of LOGIN_FAILURE_WINDOW_SECONDS (an address is an IPv4 address or an IPv6 /64, the
client address as API_NUM_PROXIES says): MAX_FAILURES_PER_USER_AND_IP failed logins of one user
name from one address, then that name is refused from there; MAX_FAILURES_PER_IP failed logins
from one address, any names, then every login from there is refused. A refused login is not
checked at all (no password hashing), and says why; a right login clears its user's failures
from that address. While the cache is down the caps are not counted: logging in goes on.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError

from eqms_integration.api.client_ip import client_ip

logger = logging.getLogger(__name__)

MAX_FAILURES_PER_USER_AND_IP = 10
MAX_FAILURES_PER_IP = 50
LOGIN_FAILURE_WINDOW_SECONDS = 300
PREFIX = "eqms:admin-login"


def ip_bucket(ip: str) -> str:
    """An IPv4 address, or the /64 of an IPv6 one (as the API-key caps count addresses)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _counters(username: str, ip: str) -> tuple[str, str]:
    # The user name is hashed: counters name no account in the cache.
    name = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    bucket = ip_bucket(ip)
    return f"{PREFIX}:pair:{name}:{bucket}", f"{PREFIX}:ip:{bucket}"


def _count(keys: tuple[str, str]) -> tuple[int, int]:
    found = cache.get_many(list(keys))
    return found.get(keys[0], 0), found.get(keys[1], 0)


def _failed(keys: tuple[str, str]) -> None:
    for key in keys:
        if not cache.add(key, 1, timeout=LOGIN_FAILURE_WINDOW_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=LOGIN_FAILURE_WINDOW_SECONDS)


class CappedAdminAuthenticationForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "too_many_failures": "Too many failed logins from your address. Try again in "
        f"{LOGIN_FAILURE_WINDOW_SECONDS // 60} minutes.",
    }

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        keys = _counters(username, client_ip(self.request)) if self.request else None
        try:
            counts = _count(keys) if keys else (0, 0)
        except Exception:  # the cache is down: no caps, rather than no admin
            logger.warning("Admin login failure caps not checked: the cache is unavailable.")
            keys, counts = None, (0, 0)
        if counts[0] >= MAX_FAILURES_PER_USER_AND_IP or counts[1] >= MAX_FAILURES_PER_IP:
            raise ValidationError(
                self.error_messages["too_many_failures"], code="too_many_failures"
            )
        try:
            cleaned = super().clean()
        except ValidationError as exc:
            if keys and getattr(exc, "code", None) == "invalid_login":
                try:
                    _failed(keys)
                except Exception:
                    logger.warning("Admin login failure not counted: the cache is unavailable.")
            raise
        if keys:  # the user proved who they are: their typos from here are forgiven
            try:
                cache.delete(keys[0])
            except Exception:
                logger.warning("Admin login failures not cleared: the cache is unavailable.")
        return cleaned
