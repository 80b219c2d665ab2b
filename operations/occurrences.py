"""What the webhook, sync and key code reports when something goes wrong that a person must
know about: one call at the point of occurrence, deciding whether it is one, and then, once,
an alert (e-mailed to ALERT_EMAILS) and the operational event of the same name (sent to the
subscriptions that chose it, through the outbox like every event).

The event follows the alert's decision: `alert_send` records each occurrence once (its unique
key), and only a newly recorded occurrence publishes, so a subscription disabled once is one
event and a run retried three times is one `sync.run.failed`. Like the alert, publishing never
raises into the work being reported on.

No loops: a subscription's own failure is never sent to it (its delivery exhausted, or it was
disabled), and a delivery of an operational event that gives up is alerted but publishes no
`webhook.delivery.exhausted`, so two failing receivers cannot keep telling each other."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from eqms_integration.text import counted
from operations import payloads
from operations.models import Alert, AlertKind
from operations.services.alerts import alert_send
from webhooks.models import OPERATIONAL_EVENTS, WebhookDelivery
from webhooks.services.publishing import event_publish

logger = logging.getLogger(__name__)
FAILED_RUN_STATUSES = ("failed", "timeout")  # sync.models.SyncRun.Status


def _event_send(kind: str, data: dict[str, Any], *, not_to: Iterable[int] = ()) -> None:
    """Publish the event of an occurrence in the caller's transaction (a savepoint: a failure
    is logged and leaves the caller's work intact). `not_to`: subscriptions it is about,
    which never receive it."""
    try:
        with transaction.atomic():
            event = event_publish(event_type=kind, data=data)
            excluded = list(not_to)
            if event is not None and excluded:
                # The outbox is written by the one public publish; the deliveries it made to
                # the subscriptions this is about go again before anything commits.
                WebhookDelivery.objects.filter(event=event, subscription_id__in=excluded).delete()
                if not event.deliveries.exists():
                    event.delete()
    except Exception:
        logger.exception("could not publish the %s event", kind)


def _occurred(
    *,
    kind: str,
    obj: Any,
    reason: str,
    data: Callable[[Alert], dict[str, Any]],
    not_to: Iterable[int] = (),
    publish: bool = True,
    **alert: str,
) -> bool:
    recorded = alert_send(kind=kind, obj=obj, reason=reason, **alert)
    if recorded is None:
        return False  # seen before (or not recordable): neither alert nor event again
    if publish:
        _event_send(kind, data(recorded), not_to=not_to)
    return True


def subscription_disabled(*, subscription: Any, reason: str) -> None:
    """The service disabled a subscription (410, too many failures): each disabling once."""
    _occurred(
        kind=AlertKind.SUBSCRIPTION_DISABLED,
        obj=subscription,
        reason=reason,
        occurrence=timezone.now().isoformat(),
        data=lambda alert: payloads.subscription_disabled(subscription, alert),
        not_to=[subscription.pk],
    )


def delivery_exhausted(*, delivery: Any, error: str) -> None:
    """A delivery failed its last allowed attempt (a recovery starts a new round)."""
    subscription = delivery.subscription
    attempts = delivery.attempt_count - delivery.attempts_before_recovery
    last = delivery.attempts.order_by("-number", "-id").values_list("status_code", flat=True)
    _occurred(
        kind=AlertKind.DELIVERY_EXHAUSTED,
        obj=delivery,
        subject=f"{delivery.event.event_type} to {subscription.name} (delivery {delivery.pk})",
        reason=f"Gave up after {counted(attempts, 'attempt')}: {error or 'failed'}",
        occurrence=f"round:{delivery.attempts_before_recovery}",
        data=lambda alert: payloads.delivery_exhausted(delivery, alert, last.first()),
        not_to=[subscription.pk],
        publish=delivery.event.event_type not in OPERATIONAL_EVENTS,
    )


def sync_run_ended(run: Any) -> None:
    """A run ended; report it when it failed (or timed out) and no retry will follow: one for
    a run retried three times, when the last attempt fails."""
    config = run.configuration
    if run.status not in FAILED_RUN_STATUSES or run.dry_run:
        return
    if config.enabled and run.attempt <= config.max_retries:
        return  # the sweeper retries it
    _occurred(
        kind=AlertKind.SYNC_RUN_FAILED,
        obj=run,
        subject=f"{config.name}, run {run.pk}",
        reason=f"{run.get_status_display()} on attempt {run.attempt} of "
        f"{config.max_retries + 1}; no retry left. {run.error or ''}".strip(),
        data=lambda alert: payloads.sync_run_failed(run, alert),
    )


def conflict_pending(conflict: Any) -> None:
    """A new conflict waits for a person (a later run refreshing it is the same one)."""
    fields = ", ".join(conflict.fields) or "values"
    _occurred(
        kind=AlertKind.SYNC_CONFLICT_PENDING,
        obj=conflict,
        subject=f"{conflict.configuration.name}, record {conflict.external_id}",
        reason=f"Changed on both sides since the last sync ({fields}); resolve it in the admin "
        f"or with POST /api/sync/conflicts/{conflict.pk}/resolve/.",
        data=lambda alert: payloads.conflict_pending(conflict, alert),
    )


def apikey_expiring(*, key: Any, reason: str, occurrence: str) -> bool:
    """A key expires soon: once per key and expiry date. Whether this was a new occurrence."""
    return _occurred(
        kind=AlertKind.APIKEY_EXPIRING,
        obj=key,
        reason=reason,
        occurrence=occurrence,
        data=lambda alert: payloads.apikey_expiring(key, alert),
    )
