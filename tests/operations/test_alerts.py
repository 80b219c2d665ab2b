"""Alert e-mails for operational occurrences, read back from Django's file mail backend
(what `EMAIL_URL=filemail:///path` configures): one alert per occurrence, none for a change
rolled back, a burst in one message, a mail server that refuses retried by the sweep."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from email.message import EmailMessage as Message
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from apikeys import services as keys
from operations.models import Alert
from operations.services import alert_send, alerts_email_pending
from operations.tasks import sweep_alerts
from quality import services as quality
from sync.engine.runner import execute
from sync.services.runs import run_claim, run_retry, runs_sweep
from tests.sync.sources import SQLiteSource
from tests.sync.test_engine import T0, configure, rows, run
from tests.webhooks.conftest import wait_for
from webhooks import services as webhooks
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db
BASE = "http://127.0.0.1:8000"


@pytest.fixture
def mailbox(settings, tmp_path) -> Path:
    """ALERT_EMAILS set and mail written to files, as EMAIL_URL=filemail:///… does."""
    settings.ALERT_EMAILS = ["ops@plant.example", "qa@plant.example"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    settings.EQMS_BASE_URL = BASE
    return tmp_path / "mail"


def mails(folder: Path) -> list[Message]:
    if not folder.exists():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        for chunk in path.read_text().split("-" * 79):
            if chunk.strip():
                found.append(email.message_from_string(chunk.strip(), policy=email.policy.default))
    return found


def subject(message: Message) -> str:
    return str(message["Subject"]).strip()  # a folded encoded-word keeps its leading space


def body(message: Message) -> str:
    return message.get_content()


def deliver(delivery_id: int | None = None) -> None:
    delivery = (
        WebhookDelivery.objects.get(pk=delivery_id)
        if delivery_id
        else WebhookDelivery.objects.get()
    )
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    webhooks.delivery_attempt(delivery_id=delivery.pk)


def test_a_subscription_disabled_by_a_410_is_emailed_once_with_its_reason_and_link(
    make_subscription, receiver, mailbox
):
    subscription, _ = make_subscription(name="ERP receiver")
    receiver.respond(410)
    quality.ncr_create(title="Weld crack")

    deliver()
    assert alerts_email_pending() == 1
    assert alerts_email_pending() == 0  # nothing twice

    [message] = mails(mailbox)
    assert subject(message) == "[E-QMS] Webhook subscription disabled: ERP receiver"
    assert message["To"] == "ops@plant.example, qa@plant.example"
    text = body(message)
    assert "The receiver answered 410 Gone" in text
    assert f"{BASE}/admin/webhooks/webhooksubscription/{subscription.pk}/change/" in text
    assert Alert.objects.get().emailed_at is not None


def test_a_delivery_is_alerted_when_it_runs_out_of_retries_not_on_each_failure(
    make_subscription, receiver, mailbox
):
    make_subscription(name="MES", max_retries=2, retry_delay_seconds=10)
    receiver.respond(500, 502, 503, 500)
    quality.ncr_create(title="Weld crack")
    delivery = WebhookDelivery.objects.get()

    deliver()
    deliver()
    assert not Alert.objects.exists()  # two failures, one retry left
    deliver()
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    webhooks.delivery_retry_now(delivery=delivery)  # a person tries once more: not an alert

    [alert] = Alert.objects.all()
    assert alert.kind == "webhook.delivery.exhausted"
    assert alert.subject == f"ncr.created to MES (delivery {delivery.pk})"
    assert alert.reason == "Gave up after 3 attempts: The receiver answered 503."
    assert alert.link == f"{BASE}/admin/webhooks/webhookdelivery/{delivery.pk}/change/"


def test_a_recovered_delivery_that_gives_up_again_is_a_new_occurrence(
    make_subscription, receiver, mailbox
):
    make_subscription(retry_enabled=False)
    receiver.respond(500, 500)
    quality.ncr_create(title="A")
    deliver()
    created = WebhookDelivery.objects.get().created_at
    webhooks.deliveries_requeue(since=created - timedelta(seconds=1), include_failed=True)

    deliver()

    assert Alert.objects.filter(kind="webhook.delivery.exhausted").count() == 2


def test_a_change_rolled_back_alerts_nobody(make_subscription, receiver, mailbox):
    subscription, _ = make_subscription()

    with pytest.raises(RuntimeError), transaction.atomic():
        alert_send(kind="webhook.subscription.disabled", obj=subscription, reason="x")
        raise RuntimeError("rollback")

    assert not Alert.objects.exists()
    assert alerts_email_pending() == 0


def failing_config(source: SQLiteSource, max_retries: int):
    source.insert(rows(2))
    config = configure(source, max_retries=max_retries)
    with source.cursor() as cur:
        cur.execute(f"DROP TABLE {source.table}")  # every run fails at the source from now on
    return config


def test_a_sync_run_retried_until_it_gives_up_is_one_alert(tmp_path, sync_test_systems, mailbox):
    source = SQLiteSource(tmp_path)
    source.create()
    config = failing_config(source, max_retries=2)

    first = run(config)
    second = execute(run_claim(run_retry(run=first).pk))
    assert (first.status, second.status) == ("failed", "failed")
    assert not Alert.objects.exists()  # the sweeper would retry them
    third = execute(run_claim(run_retry(run=second).pk))

    [alert] = Alert.objects.all()
    assert (alert.kind, alert.subject) == ("sync.run.failed", f"ERP equipment, run {third.pk}")
    assert alert.reason.startswith("Failed on attempt 3 of 3; no retry left. ")
    assert alert.link == f"{BASE}/admin/sync/syncrun/{third.pk}/change/"
    alerts_email_pending()
    [message] = mails(mailbox)
    assert subject(message) == f"[E-QMS] Sync run failed: ERP equipment, run {third.pk}"


def test_a_run_whose_worker_died_on_its_last_attempt_is_alerted_by_the_sweeper(
    tmp_path, sync_test_systems, mailbox, settings
):
    source = SQLiteSource(tmp_path)
    source.create()
    config = configure(source, max_retries=0)
    from sync.services.runs import run_start

    stuck = run_start(config=config)  # in progress; its worker is then killed
    stuck.__class__.objects.filter(pk=stuck.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.SYNC_RUN_LEASE_SECONDS + 1)
    )

    runs_sweep()
    runs_sweep()

    [alert] = Alert.objects.all()
    assert alert.kind == "sync.run.failed" and "its worker stopped" in alert.reason


def test_a_new_pending_conflict_is_one_alert_however_often_later_runs_refresh_it(
    tmp_path, sync_test_systems, mailbox, settings
):
    from quality.models import Equipment

    settings.SYNC_LOCAL_SETTLE_SECONDS = 0
    source = SQLiteSource(tmp_path)
    source.create()
    source.insert(rows(2))
    config = configure(source, sync_direction="bidirectional", conflict_strategy="manual")
    run(config)
    source.update("EQ-00001", "ERP name", T0 + timedelta(days=1))
    quality.equipment_update(
        equipment=Equipment.objects.get(number="EQ-00001"), data={"name": "QMS name"}
    )

    run(config)
    run(config, full=True)
    run(config, dry_run=True, full=True)

    [alert] = Alert.objects.all()
    assert (alert.kind, alert.subject) == (
        "sync.conflict.pending",
        "ERP equipment, record EQ-00001",
    )
    assert "(name)" in alert.reason


def test_a_key_expiring_within_14_days_is_alerted_once_per_expiry(mailbox):
    now = timezone.now()
    soon = keys.apikey_create(name="ERP", scopes=["ncr:read"], expires_at=now + timedelta(days=3))
    keys.apikey_create(name="Later", scopes=["ncr:read"], expires_at=now + timedelta(days=20))
    keys.apikey_create(name="Forever", scopes=["ncr:read"])
    revoked = keys.apikey_create(
        name="Gone", scopes=["ncr:read"], expires_at=now + timedelta(days=2)
    )
    keys.apikey_revoke(key=revoked.api_key, reason="test")
    rotated = keys.apikey_create(name="Rotated", scopes=["ncr:read"])
    keys.apikey_rotate(key=rotated.api_key)  # the old one expires with its grace: planned

    assert sweep_alerts() == {"expiring_keys": 1, "emailed": 1}
    assert sweep_alerts() == {"expiring_keys": 0, "emailed": 0}
    keys.apikey_update(key=soon.api_key, data={"expires_at": now + timedelta(days=5)})
    assert sweep_alerts() == {"expiring_keys": 1, "emailed": 1}

    # Two messages; the file backend names files to the second, so order them by content.
    first, second = sorted(mails(mailbox), key=lambda m: "in 5 days" in body(m))
    assert subject(first) == "[E-QMS] API key expiring: ERP (" + soon.api_key.key_preview + ")"
    assert "in 3 days" in body(first) and "in 5 days" in body(second)
    assert f"{BASE}/admin/apikeys/apikey/{soon.api_key.pk}/change/" in body(first)


def test_a_burst_of_alerts_is_one_message(make_subscription, receiver, mailbox):
    subscription, _ = make_subscription(name="ERP")
    for n in range(30):
        alert_send(
            kind="webhook.subscription.disabled",
            obj=subscription,
            reason=f"r{n}",
            occurrence=str(n),
        )

    assert alerts_email_pending() == 30

    [message] = mails(mailbox)
    assert subject(message) == "[E-QMS] 30 alerts: 30 x Webhook subscription disabled"
    assert body(message).count("Reason: r") == 30


def test_without_alert_emails_alerts_are_recorded_and_nothing_is_sent(mailbox, settings):
    settings.ALERT_EMAILS = []
    key = keys.apikey_create(
        name="ERP", scopes=["*"], expires_at=timezone.now() + timedelta(days=1)
    )

    assert sweep_alerts() == {"expiring_keys": 1, "emailed": 0}
    assert Alert.objects.get().target == f"apikeys.apikey:{key.api_key.pk}"
    assert mails(mailbox) == []


def test_a_mail_server_that_refuses_keeps_the_alert_for_the_sweep(
    mailbox, settings, unanswered_port
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    keys.apikey_create(name="ERP", scopes=["*"], expires_at=timezone.now() + timedelta(days=1))

    assert sweep_alerts() == {"expiring_keys": 1, "emailed": 0}
    alert = Alert.objects.get()
    assert alert.emailed_at is None and alert.email_attempts == 1
    assert alert.email_error.startswith("ConnectionRefusedError")

    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    assert sweep_alerts() == {"expiring_keys": 0, "emailed": 1}
    assert len(mails(mailbox)) == 1


@pytest.mark.django_db(transaction=True)
def test_alerts_committed_together_reach_a_real_worker_as_one_message(
    make_subscription, receiver, mailbox, celery_worker
):
    subscription, _ = make_subscription(name="ERP")

    with transaction.atomic():
        for n in range(5):
            alert_send(
                kind="webhook.subscription.disabled",
                obj=subscription,
                reason=f"r{n}",
                occurrence=str(n),
            )
    wait_for(lambda: len(mails(mailbox)) == 1 and not Alert.objects.filter(emailed_at=None))

    assert subject(mails(mailbox)[0]) == "[E-QMS] 5 alerts: 5 x Webhook subscription disabled"
