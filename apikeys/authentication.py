"""DRF authentication by API key: `X-API-Key: <key>` or `Authorization: Bearer <key>`."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from apikeys.keyformat import MAX_KEY_LENGTH
from apikeys.principal import KeyPrincipal, KeyUser
from apikeys.services import KeyRejected, TooManyFailures, key_verify, usage_record
from eqms_integration import metrics
from eqms_integration.api.client_ip import client_ip

INVALID = "Invalid or missing API key."


def presented_key(request: Request) -> str | None:
    header = request.META.get("HTTP_X_API_KEY")
    if header is not None:
        return header.strip()
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip()
    return None


class APIKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[KeyUser, KeyPrincipal] | None:
        raw = presented_key(request)
        if raw is None:
            return None  # not an API-key request; other authenticators may apply
        if not raw or len(raw) > MAX_KEY_LENGTH * 2:
            metrics.api_key_auth("rejected")
            raise exceptions.AuthenticationFailed(INVALID)
        ip = client_ip(request)
        try:
            principal = key_verify(raw, ip)
        except KeyRejected:
            metrics.api_key_auth("rejected")
            raise exceptions.AuthenticationFailed(INVALID) from None
        except TooManyFailures as exc:
            metrics.api_key_auth("throttled")
            raise exceptions.Throttled(
                wait=exc.retry_after, detail="Too many failed API-key attempts; try again later."
            ) from None
        # Checked on every request, cache hit or not.
        if principal.is_expired(timezone.now()):
            metrics.api_key_auth("expired")
            raise exceptions.AuthenticationFailed(INVALID)
        if not principal.allows_ip(ip):
            metrics.api_key_auth("forbidden_address")
            raise exceptions.PermissionDenied("This API key may not be used from this address.")
        usage_record(principal.id, ip)
        metrics.api_key_auth("accepted")
        if principal.expires_at is not None:
            # Read by apikeys.middleware to set X-API-Key-Expires on the response.
            request._request.api_key_expires_at = principal.expires_at
        return KeyUser(principal=principal), principal

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) to a missing or bad key, with this challenge.
        return 'Bearer realm="api"'
