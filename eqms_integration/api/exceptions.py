"""One error body for the whole API: {"code", "message", "errors"}."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
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


def _listed(detail: Any) -> list[Any]:
    """A field's errors as a list of messages, or of objects for the fields nested in it."""
    items = detail if isinstance(detail, list) else [detail]
    listed: list[Any] = []
    for item in items:
        if isinstance(item, dict):
            listed.append(field_errors(item))
        elif isinstance(item, list):
            listed.extend(_listed(item))
        else:
            listed.append(str(item))
    return listed


def field_errors(detail: dict[Any, Any]) -> dict[str, list[Any]]:
    """DRF and Django error trees in the one shape of `errors`: every value is a list."""
    return {str(key): _listed(value) for key, value in detail.items()}


class ConflictError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with a concurrent change; retry it."
    default_code = "conflict"


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"

    def __init__(self) -> None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        super().__init__(f"The request body is larger than the {limit:,} bytes accepted.")


class BadRequest(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The request could not be processed."
    default_code = "bad_request"


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
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, SuspiciousOperation):  # e.g. too many query parameters
        exc = BadRequest()
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
        errors = field_errors(detail if isinstance(detail, dict) else {NON_FIELD_KEY: detail})
        body = error_body("validation_error", "The request has invalid fields.", errors)
    else:
        body = error_body(_code_of(exc), str(exc.detail))
    set_rollback()
    return Response(body, status=exc.status_code, headers=headers)


def _code_of(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code
