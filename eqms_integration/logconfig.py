"""Logging configuration (settings.LOGGING), and the guarantee that no secret reaches a log.

Lines are plain text, or one JSON object each with LOG_FORMAT=json (for log shippers);
both carry the request id (eqms_integration.request_id). An expected client error (a 4xx Django
logs as a warning: a 403, a 404) is one line, never a traceback.

Two layers keep secrets out. Loggers that write request or template context at DEBUG
(`django.template` logs the context of a page that failed to resolve a variable: the
shown-once key and secret pages included; `django.db.backends` logs SQL with its parameters;
urllib3 logs request lines) are held at INFO or above whatever LOG_LEVEL says. And every
record passes a filter on the handler that masks the shapes our secrets have (API keys,
webhook secrets, credentials in headers), whichever logger wrote it.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from eqms_integration import request_id

MASK = "[redacted]"
SECRET_PATTERNS = (
    # API keys: eqms_<key_id>_<secret><checksum> (apikeys.keyformat).
    re.compile(r"eqms_[0-9A-Za-z]{12}_[0-9A-Za-z]{8,}"),
    # Webhook signing secrets (Standard Webhooks): whsec_<base64>.
    re.compile(r"whsec_[A-Za-z0-9+/=_-]{8,}"),
    # Credentials in header form, as a request or a repr of one may show them.
    re.compile(
        r"(?i)((?:authorization|proxy-authorization|x-api-key|cookie|set-cookie|x-csrftoken)"
        r"['\"]?\s*[:=]\s*['\"]?)[^'\"\r\n,}]+"
    ),
    re.compile(r"(?i)(csrfmiddlewaretoken['\"]?\s*[:=]\s*['\"]?)[A-Za-z0-9]+"),
)
# Never more talkative than this, whatever LOG_LEVEL asks for.
QUIET_LOGGERS = {
    "django.template": "INFO",
    "django.db.backends": "WARNING",
    "django.utils.autoreload": "INFO",
    "urllib3": "INFO",
    "requests": "INFO",
    "asyncio": "INFO",
}
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMATS = ("plain", "json")
# Loggers whose records carry the answer's status_code (django.utils.log.log_response).
RESPONSE_LOGGERS = ("django.request", "django.security")


def redact(text: str) -> str:
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Masks secrets in the formatted message and in the traceback text of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class ExpectedClientErrorFilter(logging.Filter):
    """A 4xx answer is the client's mistake or a refusal working as meant: Django logs a 403
    (PermissionDenied) and a 400 with the exception attached, which prints a traceback per
    refused request. Keep the one line, drop the traceback. 5xx keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if (
            isinstance(status, int)
            and 400 <= status < 500
            and record.name.startswith(RESPONSE_LOGGERS)
        ):
            record.exc_info = None
            record.exc_text = None
        return True


class RequestIdFilter(logging.Filter):
    """Puts the id of the request being served on every record (None outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        record.request_id = getattr(request, "request_id", None) or request_id.current()
        record.request_tag = f" [{record.request_id}]" if record.request_id else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id,
    and exception (the traceback text) when there is one. Runs after the filters, so the
    message and the traceback are the masked ones."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def _at_least(level: str, floor: str) -> str:
    return max(level, floor, key=LEVELS.index)


def logging_config(level: str, log_format: str = "plain") -> dict[str, Any]:
    loggers: dict[str, Any] = {
        # Replaces Django's own console handler, so each record is printed once.
        "django": {"handlers": ["console"], "level": level, "propagate": False},
    }
    for name, floor in QUIET_LOGGERS.items():
        loggers[name] = {"level": _at_least(level, floor)}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            # In this order: drop an expected traceback before masking what remains.
            "expected_client_errors": {"()": ExpectedClientErrorFilter},
            "redact_secrets": {"()": RedactSecretsFilter},
            "request_id": {"()": RequestIdFilter},
        },
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s%(request_tag)s %(message)s"},
            "json": {"()": JsonFormatter},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["expected_client_errors", "redact_secrets", "request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": loggers,
    }
