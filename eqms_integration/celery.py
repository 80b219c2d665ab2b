"""The Celery application. Configuration lives in settings (CELERY_* names)."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eqms_integration.settings")

app = Celery("eqms_integration")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def use_the_service_logging(**kwargs: Any) -> None:
    """Workers and beat log through settings.LOGGING (secret masking, request ids, JSON when
    asked) instead of Celery replacing the root handler with its own."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    logging.captureWarnings(True)  # Python warnings become log lines too (as under Django)


@signals.worker_ready.connect
def start_heartbeat(sender: Any, **kwargs: Any) -> None:
    from operations.liveness import worker_heartbeat_start

    worker_heartbeat_start(name=sender.hostname)


@signals.worker_shutdown.connect
def stop_heartbeat(**kwargs: Any) -> None:
    from operations.liveness import worker_heartbeat_stop

    worker_heartbeat_stop()
