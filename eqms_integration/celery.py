"""The Celery application. Configuration lives in settings (CELERY_* names)."""

from __future__ import annotations

import os
import warnings

from celery import Celery
from celery.exceptions import CPendingDeprecationWarning
from celery.signals import celeryd_after_setup

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eqms_integration.settings")

app = Celery("eqms_integration")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@celeryd_after_setup.connect
def _quiet_connection_loss_notice(**kwargs: object) -> None:
    """Celery repeats a notice on every broker connection loss while running tasks are kept
    (the choice made in settings: CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS).
    Set after the worker's logging setup, which turns every such warning back on."""
    warnings.filterwarnings(
        "ignore",
        message=r"\s*In Celery 5.1 we introduced an optional breaking change",
        category=CPendingDeprecationWarning,
    )
