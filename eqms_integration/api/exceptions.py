"""One error body for the whole API: {"code", "message", "errors"}."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from eqms_integration.outages import RETRY_AFTER_SECONDS, outage_report, unavailable_service

logger = logging.getLogger(__name__)

NON_FIELD_KEY = "non_field_errors"


def _django_validation_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            (NON_FIELD_KEY if field == "__all__" else field): messages
            for field, messages in exc.message_dict.items()
        }
    return {NON_FIELD_KEY: exc.messages}


def _flatten(detail: Any) -> Any:
    """DRF ErrorDetail trees become plain lists/dicts of strings."""
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


class ConflictError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with a concurrent change; retry it."
    default_code = "conflict"


def error_body(code: str, message: str, errors: Any = None) -> dict[str, Any]:
    return {"code": code, "message": message, "errors": errors or {}}


def unavailable_body(service: str) -> dict[str, Any]:
    return error_body(
        "service_unavailable",
        f"The {service} is unavailable; retry after the seconds given in Retry-After.",
    )


def mark_logged(response: Any) -> Any:
    """Tell Django's request logger the response is accounted for: an outage is logged once by
    eqms_integration.outages, not once per request it refuses."""
    response._has_been_logged = True
    return response


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    service = unavailable_service(exc)
    if service is not None:
        outage_report(service, exc)
        set_rollback()
        return mark_logged(
            Response(
                unavailable_body(service),
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_validation_errors(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, IntegrityError):
        # A uniqueness race lost after validation passed: the client may simply retry.
        logger.info("integrity error turned into 409: %s", exc)
        exc = ConflictError()

    if not isinstance(exc, exceptions.APIException):
        logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
        set_rollback()
        return Response(
            error_body("server_error", "An unexpected error occurred; it has been logged."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))

    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        errors = _flatten(detail if isinstance(detail, dict) else {NON_FIELD_KEY: detail})
        body = error_body("validation_error", "The request has invalid fields.", errors)
    else:
        body = error_body(_code_of(exc), str(exc.detail))
    set_rollback()
    return Response(body, status=exc.status_code, headers=headers)


def _code_of(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code
