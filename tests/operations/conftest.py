"""The webhook tests' receiver, subscriptions, in-process broker and worker, and clock serve
these tests too (memory_broker is autouse here as there: nothing reaches var/ or Redis)."""

from __future__ import annotations

from tests.webhooks.conftest import (  # noqa: F401  (fixtures)
    allow_loopback,
    celery_worker,
    clock,
    make_subscription,
    memory_broker,
    receiver,
)
