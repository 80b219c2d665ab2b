"""A task run by a real Celery worker records the task channel and its task id, and the
beat task seals what the request wrote."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent, AuditSeal
from audit.tasks import seal_audit_events
from tests.audit.test_context import record_in_task
from tests.webhooks.conftest import celery_worker, memory_broker, wait_for  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_task_in_a_worker_records_the_task_channel_and_the_sealer_task_chains_it(
    celery_worker,  # noqa: F811
):
    sent = record_in_task.delay()
    wait_for(lambda: AuditEvent.objects.exists())
    seal_audit_events.delay()
    wait_for(lambda: AuditSeal.objects.exists())

    event = AuditEvent.objects.get()
    assert (event.channel, event.actor_type, event.request_id) == ("task", "system", sent.id)
    assert AuditSeal.objects.get().event_id == event.pk
