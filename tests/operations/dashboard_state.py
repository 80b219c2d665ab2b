"""A realistic state for the operations dashboard: a failing and a disabled subscription
beside a healthy one, a failed sync run and a pending conflict, keys expiring, locked out and
idle, a worker gone silent beside a live beat."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from apikeys import services as keys
from apikeys.keyformat import build_key
from apikeys.models import APIKey
from apikeys.services.verification import KeyRejected, TooManyFailures, key_verify
from operations.models import Heartbeat
from operations.services import heartbeat_record
from quality import services as quality
from sync.models import Connection, SyncConfiguration, SyncConflict, SyncRun
from sync.services.schedules import schedule_save
from webhooks import services as webhooks
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription


def _attempts(delivery: WebhookDelivery, outcomes: list[int], at) -> None:
    for number, code in enumerate(outcomes, start=1):
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=number,
            started_at=at,
            duration_ms=120 + number,
            status_code=code,
            succeeded=200 <= code < 300,
        )


def _webhooks(now) -> SimpleNamespace:
    events = ["ncr.created"]
    erp, _ = webhooks.subscription_create(
        name="ERP receiver", url="http://127.0.0.1:9/erp", events=events
    )
    mes, _ = webhooks.subscription_create(
        name="MES line 2", url="http://127.0.0.1:9/mes", events=events
    )
    crm, _ = webhooks.subscription_create(
        name="Legacy CRM", url="http://127.0.0.1:9/crm", events=events
    )
    for n in range(6):
        quality.ncr_create(title=f"Weld crack {n}")
    by_sub = {
        s: list(WebhookDelivery.objects.filter(subscription=s).order_by("id"))
        for s in (erp, mes, crm)
    }
    for delivery in by_sub[erp]:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status="succeeded", completed_at=now, attempt_count=1
        )
        _attempts(delivery, [200], now - timedelta(hours=1))
    for i, delivery in enumerate(by_sub[mes]):
        if i < 2:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                status="failed", completed_at=now, attempt_count=3
            )
            _attempts(delivery, [503, 503, 500], now - timedelta(hours=2))
        else:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                status="pending",
                attempt_count=1,
                next_attempt_at=now - timedelta(seconds=30)
                if i < 4
                else now + timedelta(minutes=5),
                created_at=now - timedelta(minutes=47 - i),
            )
            _attempts(delivery, [503], now - timedelta(minutes=20))
    WebhookSubscription.objects.filter(pk=mes.pk).update(
        consecutive_failures=2, failing_since=now - timedelta(hours=3)
    )
    for delivery in by_sub[crm]:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status="failed", completed_at=now, last_error="Not sent: the subscription is disabled."
        )
    webhooks.subscription_disable(
        subscription_id=crm.pk,
        reason="The receiver answered 410 Gone on 2026-11-30 09:12 UTC.",
    )
    return SimpleNamespace(ok=erp, failing=mes, disabled=crm)


def _sync(now) -> SimpleNamespace:
    connection = Connection.objects.create(
        name="ERP SQL Server",
        kind="mssql",
        host="erp.plant.local",
        port=1433,
        database="erp",
        username="sync",
    )
    fields = {
        "system_type": "ERP",
        "connection": connection,
        "remote_key": "id",
        "field_mappings": [{"local": "name", "remote": "name"}],
    }
    equipment = SyncConfiguration.objects.create(
        name="ERP equipment",
        entity_type="equipment",
        remote_object="dbo.Equipment",
        schedule_type="interval",
        interval_minutes=15,
        **fields,
    )
    suppliers = SyncConfiguration.objects.create(
        name="ERP suppliers",
        entity_type="suppliers",
        remote_object="dbo.Vendors",
        sync_direction="bidirectional",
        conflict_strategy="manual",
        schedule_type="cron",
        cron_expression="0 2 * * *",
        **fields,
    )
    SyncConfiguration.objects.create(
        name="MES orders", entity_type="orders", remote_object="dbo.Orders", **fields
    )
    for config in (equipment, suppliers):
        schedule_save(config)
    SyncRun.objects.create(
        configuration=equipment,
        status="success",
        started_at=now - timedelta(hours=5),
        finished_at=now - timedelta(hours=5),
        processed=420,
        duration_ms=8000,
    )
    failed = SyncRun.objects.create(
        configuration=equipment,
        status="failed",
        attempt=4,
        started_at=now - timedelta(minutes=12),
        finished_at=now - timedelta(minutes=12),
        duration_ms=10000,
        error="could not connect to erp.plant.local:1433",
    )
    run = SyncRun.objects.create(
        configuration=suppliers,
        status="success",
        started_at=now - timedelta(hours=1),
        finished_at=now - timedelta(hours=1),
        processed=88,
        conflicted=1,
    )
    conflict = SyncConflict.objects.create(
        configuration=suppliers,
        run=run,
        external_id="V-1042",
        fields=["name"],
        strategy="manual",
        source_values={"name": "Acme Steel GmbH"},
        target_values={"name": "ACME Steel"},
        source_hash="a" * 64,
        target_hash="b" * 64,
    )
    return SimpleNamespace(
        failing=equipment, conflicted=suppliers, failed_run=failed, conflict=conflict
    )


def _api_keys(now, settings) -> SimpleNamespace:
    expiring = keys.apikey_create(
        name="MES gateway", scopes=["ncr:read"], expires_at=now + timedelta(days=3)
    )
    keys.apikey_create(name="ERP connector", scopes=["*"], expires_at=now + timedelta(days=60))
    locked = keys.apikey_create(name="WMS scanner", scopes=["ncr:read"])
    idle = keys.apikey_create(name="Old BI export", scopes=["ncr:read"])
    APIKey.objects.filter(pk=idle.api_key.pk).update(
        created_at=now - timedelta(days=200), last_used_at=now - timedelta(days=120)
    )
    settings.APIKEY_MAX_FAILURES_PER_KEY_AND_IP = 3
    wrong, _ = build_key(locked.api_key.key_id)  # its key_id, another secret
    for _ in range(4):  # a scanner with a mistyped key, until the cap refuses it
        with pytest.raises((KeyRejected, TooManyFailures)):
            key_verify(wrong, "10.20.0.7")
    return SimpleNamespace(expiring=expiring.api_key, locked=locked.api_key, idle=idle.api_key)


def _processes(now) -> None:
    heartbeat_record(kind="worker", name="celery@plant-app-1", started_at=now - timedelta(days=1))
    Heartbeat.objects.filter(kind="worker").update(seen_at=now - timedelta(minutes=10))
    heartbeat_record(kind="beat", name="beat@plant-app-1", started_at=now - timedelta(days=1))


def realistic_state(settings) -> SimpleNamespace:
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # receivers on this machine
    now = timezone.now()
    return SimpleNamespace(
        webhooks=_webhooks(now),
        sync=_sync(now),
        keys=_api_keys(now, settings),
        now=now,
        processes=_processes(now),
    )
