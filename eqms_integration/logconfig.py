"""Logging configuration (settings.LOGGING), and the guarantee that no secret reaches a log.

Two layers. Loggers that write request or template context at DEBUG (`django.template` logs
the context of a page that failed to resolve a variable: the shown-once key and secret pages
included; `django.db.backends` logs SQL with its parameters; urllib3 logs request lines) are
held at INFO or above whatever LOG_LEVEL says. And every record passes a filter on the handler
that masks the shapes our secrets have (API keys, webhook secrets, credentials in headers),
whichever logger wrote it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

MASK = "[redacted]"
SECRET_PATTERNS = (
    # API keys: eqms_<key_id>_<secret><checksum> (apikeys.services.keyformat).
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


def _at_least(level: str, floor: str) -> str:
    return max(level, floor, key=LEVELS.index)


def logging_config(level: str) -> dict[str, Any]:
    loggers: dict[str, Any] = {
        # Replaces Django's own console handler, so each record is printed once.
        "django": {"handlers": ["console"], "level": level, "propagate": False},
    }
    for name, floor in QUIET_LOGGERS.items():
        loggers[name] = {"level": _at_least(level, floor)}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact_secrets": {"()": RedactSecretsFilter}},
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "filters": ["redact_secrets"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": loggers,
    }
