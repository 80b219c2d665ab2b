"""Recording an attempt's outcome: the attempt row, the delivery's next state, and the
subscription's health (consecutive failures, automatic disabling)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from eqms_integration import metrics
from eqms_integration.http_headers import parse_retry_after
from eqms_integration.redaction import remove_secrets
from operations import occurrences
from webhooks.backoff import retry_delay_seconds, scheduled_delay_seconds
from webhooks.http_client import HttpResult
from webhooks.models import EventType, WebhookAttempt, WebhookDelivery, WebhookSubscription
from webhooks.services.circuit import (
    CLOSED,
    circuit_closed_release,
    circuit_failure,
    circuit_is_clear,
)
from webhooks.services.queue import deliveries_enqueue_on_commit
from webhooks.services.subscriptions import custom_headers_of, subscription_disable

Status = WebhookDelivery.Status
MAX_STORED_BODY = 5000


def _error_of(result: HttpResult) -> str:
    if result.error:
        return result.error
    code = result.status_code
    if code is not None and 300 <= code < 400:
        where = result.headers.get("location", "(no Location)")
        return f"Redirect {code} to {where} not followed: receivers must answer directly."
    if code is not None and not result.ok:
        return f"The receiver answered {code}."
    return ""


def _stored_body(subscription: WebhookSubscription, body: str) -> str:
    """What the receiver answered, as kept: receivers may echo the request, and the values of
    custom headers (credentials, shown to nobody) must not come back through their answers."""
    if body and subscription.custom_headers_encrypted:
        body = remove_secrets(body, custom_headers_of(subscription).values())
    return body[:MAX_STORED_BODY]


def _retry_delay(
    subscription: WebhookSubscription, attempt: int, retry_after: float | None
) -> float | None:
    """Seconds until the next try after failed attempt number `attempt` of this round (None:
    no more): by the subscription's schedule, or exponentially (subscriptions without one)."""
    if subscription.retry_schedule is not None:
        return scheduled_delay_seconds(
            schedule=subscription.retry_schedule, attempt=attempt, retry_after_seconds=retry_after
        )
    if attempt > subscription.max_retries:
        return None
    return retry_delay_seconds(
        base_seconds=subscription.retry_delay_seconds,
        attempt=attempt,
        retry_after_seconds=retry_after,
    )


def _next_state(
    delivery: WebhookDelivery, result: HttpResult, now: datetime, allow_retry: bool
) -> dict:
    subscription = delivery.subscription
    if result.ok:
        return {"status": Status.SUCCEEDED, "completed_at": now, "next_attempt_at": None}
    delay = None
    if allow_retry and result.status_code != 410 and subscription.retry_enabled:
        delay = _retry_delay(
            subscription,
            delivery.attempt_count - delivery.attempts_before_recovery,
            parse_retry_after(result.headers.get("retry-after"), now=now),
        )
    if delay is not None:
        return {"status": Status.PENDING, "next_attempt_at": now + timedelta(seconds=delay)}
    return {"status": Status.FAILED, "completed_at": now, "next_attempt_at": None}


def attempt_record(
    *,
    delivery: WebhookDelivery,
    token: str,
    started_at: datetime,
    result: HttpResult,
    allow_retry: bool,
) -> WebhookAttempt:
    """The outcome of one attempt (see attempts_record)."""
    [attempt] = attempts_record(
        token=token, started_at=started_at, outcomes=[(delivery, result)], allow_retry=allow_retry
    )
    return attempt


@transaction.atomic
def attempts_record(
    *,
    token: str,
    started_at: datetime,
    outcomes: list[tuple[WebhookDelivery, HttpResult]],
    allow_retry: bool,
) -> list[WebhookAttempt]:
    """The attempts of one claim, in one transaction: their rows in one INSERT, the succeeded
    deliveries in one UPDATE per status code (one, usually); failures one by one (their next
    state and the subscription's health differ per delivery). Each delivery's new state is
    set on the instance too."""
    now = timezone.now()
    attempts = [
        WebhookAttempt(
            delivery=delivery,
            number=delivery.attempt_count,
            started_at=started_at,
            duration_ms=result.duration_ms,
            status_code=result.status_code,
            response_body=_stored_body(delivery.subscription, result.body),
            error=_error_of(result),
            succeeded=result.ok,
        )
        for delivery, result in outcomes
    ]
    if len(attempts) == 1:
        attempts[0].save()  # its id, on every backend
    else:
        WebhookAttempt.objects.bulk_create(attempts)
    succeeded: dict[int | None, list[tuple[WebhookDelivery, HttpResult]]] = defaultdict(list)
    for delivery, result in outcomes:
        if result.ok:
            succeeded[result.status_code].append((delivery, result))
        else:
            _failure_record(delivery, token, result, now, allow_retry)
    for status_code, done in succeeded.items():
        _successes_record(done, token, status_code, now)
    return attempts


def _is_test(delivery: WebhookDelivery) -> bool:
    return delivery.event.event_type == EventType.TEST


def _successes_record(
    done: list[tuple[WebhookDelivery, HttpResult]],
    token: str,
    status_code: int | None,
    now: datetime,
) -> None:
    state = {"status": Status.SUCCEEDED, "completed_at": now, "next_attempt_at": None}
    # Those whose lease expired meanwhile (another worker took over) keep the new owner's
    # state; their attempt stays on record.
    WebhookDelivery.objects.filter(
        pk__in=[d.pk for d, _ in done], lease_token=token, status=Status.DELIVERING
    ).update(**state, lease_expires_at=None, last_status_code=status_code, last_error="")
    healed: dict[int, WebhookSubscription] = {}
    for delivery, result in done:
        metrics.webhook_attempt(status=Status.SUCCEEDED, seconds=result.duration_ms / 1000)
        for name, value in state.items():
            setattr(delivery, name, value)
        subscription = delivery.subscription
        # Health is reset only where the subscription (as loaded with the claim) was failing:
        # a healthy subscription costs no query per delivery.
        failing = subscription.consecutive_failures or subscription.failing_since
        if (failing or not circuit_is_clear(subscription)) and not _is_test(delivery):
            healed[subscription.pk] = subscription
    for subscription in healed.values():
        WebhookSubscription.objects.filter(pk=subscription.pk).filter(
            Q(consecutive_failures__gt=0)
            | Q(failing_since__isnull=False)
            | Q(failed_attempts_in_row__gt=0)
            | Q(circuit_opened_at__isnull=False)
        ).update(consecutive_failures=0, failing_since=None, **CLOSED)
        deliveries_enqueue_on_commit(circuit_closed_release(subscription, now))


def _failure_record(
    delivery: WebhookDelivery, token: str, result: HttpResult, now: datetime, allow_retry: bool
) -> None:
    error = _error_of(result)
    state = _next_state(delivery, result, now, allow_retry)
    owned = WebhookDelivery.objects.filter(
        pk=delivery.pk, lease_token=token, status=Status.DELIVERING
    ).update(
        **state,
        lease_expires_at=None,
        last_status_code=result.status_code,
        last_error=error,
    )
    # Without the lease (it expired and another worker took over) the attempt stays on record
    # but the delivery's state belongs to the new owner.
    if owned and not _is_test(delivery):
        circuit_failure(delivery.subscription, now)
        _update_health(delivery.subscription, result, state["status"], now)
    metrics.webhook_attempt(status=state["status"], seconds=result.duration_ms / 1000)
    if owned and state["status"] == Status.FAILED and allow_retry and result.status_code != 410:
        occurrences.delivery_exhausted(delivery=delivery, error=error)
    for name, value in state.items():
        setattr(delivery, name, value)


def _update_health(
    subscription: WebhookSubscription, result: HttpResult, status: str, now: datetime
) -> None:
    rows = WebhookSubscription.objects.filter(pk=subscription.pk)
    if result.status_code == 410:
        _disable(
            subscription,
            reason=f"The receiver answered 410 Gone on {now:%Y-%m-%d %H:%M} UTC.",
        )
        return
    rows.filter(failing_since__isnull=True).update(failing_since=now)
    if status == Status.FAILED:
        rows.update(consecutive_failures=F("consecutive_failures") + 1)
    current = rows.values("consecutive_failures", "failing_since").get()
    limit = settings.WEBHOOK_MAX_CONSECUTIVE_FAILURES
    days = settings.WEBHOOK_DISABLE_AFTER_FAILING_DAYS
    if current["consecutive_failures"] >= limit:
        _disable(
            subscription,
            reason=f"Disabled automatically after {current['consecutive_failures']} "
            f"consecutive failed deliveries (limit {limit}); last error: {_error_of(result)}",
        )
    elif current["failing_since"] <= now - timedelta(days=days):
        _disable(
            subscription,
            reason=f"Disabled automatically: every attempt since "
            f"{current['failing_since']:%Y-%m-%d %H:%M} UTC ({days}+ days) failed; "
            f"last error: {_error_of(result)}",
        )


def _disable(subscription: WebhookSubscription, *, reason: str) -> None:
    if subscription_disable(subscription_id=subscription.pk, reason=reason):
        occurrences.subscription_disabled(subscription=subscription, reason=reason)
