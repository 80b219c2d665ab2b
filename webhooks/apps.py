from __future__ import annotations

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from django.core import signals

        from webhooks.services import queue

        # A request's delivery messages leave after its response (webhooks/services/queue.py).
        signals.request_started.connect(queue.request_started, dispatch_uid="webhooks-hold")
        signals.request_finished.connect(queue.request_finished, dispatch_uid="webhooks-send")
