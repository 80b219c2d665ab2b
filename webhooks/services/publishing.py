"""The outbox: an event and its deliveries are written in the caller's transaction, so a
rolled-back change sends nothing and a committed one is never lost."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from webhooks.services.queue import deliveries_enqueue_on_commit


def message_id_new() -> str:
    return f"msg_{uuid.uuid4().hex}"


def _event_create(*, event_type: str, data: dict[str, Any]) -> WebhookEvent:
    now = timezone.now()
    message_id = message_id_new()
    body = {"id": message_id, "event": event_type, "timestamp": now.isoformat(), "data": data}
    return WebhookEvent.objects.create(
        message_id=message_id,
        event_type=event_type,
        payload=json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":")),
        created_at=now,
    )


def _subscriber_ids(event_type: str) -> list[int]:
    # Filtered in Python: JSON containment lookups are not portable (SQLite, SQL Server).
    active = WebhookSubscription.objects.filter(is_active=True).values_list("id", "events")
    return [pk for pk, events in active if event_type in events]


def _deliveries_create(event: WebhookEvent, subscription_ids: list[int]) -> list[int]:
    """One delivery per subscription in one INSERT … SELECT, its ids returned by it where the
    database can (the outbox is on the path of every NCR/CAPA change: model instances and
    bulk_create cost more than the statement). enqueued_at is now: the on-commit message is
    on its way, and the sweeper waits for it."""
    now = event.created_at
    values = {"event": event.pk, "next_attempt_at": now, "enqueued_at": now, "created_at": now}
    columns, params = [], []
    for model_field in WebhookDelivery._meta.concrete_fields:
        if model_field.primary_key or model_field.name == "subscription":
            continue
        value = values.get(model_field.name, model_field.get_default())
        columns.append(connection.ops.quote_name(model_field.column))
        params.append(model_field.get_db_prep_save(value, connection))
    table = connection.ops.quote_name(WebhookDelivery._meta.db_table)
    subscriptions = connection.ops.quote_name(WebhookSubscription._meta.db_table)
    subscription = connection.ops.quote_name(WebhookDelivery._meta.get_field("subscription").column)
    returning = connection.features.can_return_rows_from_bulk_insert
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}, {subscription}) "  # noqa: S608 - quoted names
        f"SELECT {', '.join(['%s'] * len(params))}, id FROM {subscriptions} "
        f"WHERE id IN ({', '.join(['%s'] * len(subscription_ids))})"
        + (" RETURNING id" if returning else "")
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *subscription_ids])
        if returning:
            return [row[0] for row in cursor.fetchall()]
    return list(WebhookDelivery.objects.filter(event=event).values_list("id", flat=True))


# No savepoint: the event belongs to the caller's change (both commit or neither), and a
# savepoint would cost two more round trips on the path of every NCR/CAPA change.
@transaction.atomic(savepoint=False)
def event_publish(*, event_type: str, data: dict[str, Any]) -> WebhookEvent | None:
    """Record `event_type` for every active subscription to it, in the current transaction;
    delivery is enqueued when it commits. None when nobody subscribes (nothing is stored)."""
    subscription_ids = _subscriber_ids(event_type)
    if not subscription_ids:
        return None
    event = _event_create(event_type=event_type, data=data)
    deliveries_enqueue_on_commit(_deliveries_create(event, subscription_ids))
    return event


@transaction.atomic
def test_event_create(*, subscription: WebhookSubscription) -> WebhookDelivery:
    """A webhook.test event and its one delivery, for a subscription active or not."""
    event = _event_create(
        event_type="webhook.test",
        data={"subscription_id": subscription.pk, "message": "Test delivery from E-QMS."},
    )
    [delivery_id] = _deliveries_create(event, [subscription.pk])
    return WebhookDelivery.objects.select_related("event", "subscription").get(pk=delivery_id)
