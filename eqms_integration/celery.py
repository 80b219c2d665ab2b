"""The Celery application. Configuration lives in settings (CELERY_* names)."""

from __future__ import annotations

import os
import warnings
from typing import Any

from celery import Celery, signals
from celery.exceptions import CPendingDeprecationWarning

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


@signals.celeryd_after_setup.connect
def _quiet_connection_loss_notice(**kwargs: object) -> None:
    """Celery repeats a notice on every broker connection loss while running tasks are kept
    (the choice made in settings: CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS).
    Set after the worker's logging setup, which turns every such warning back on."""
    warnings.filterwarnings(
        "ignore",
        message=r"\s*In Celery 5.1 we introduced an optional breaking change",
        category=CPendingDeprecationWarning,
    )
