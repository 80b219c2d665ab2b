"""The outbox: an event and its deliveries are written in the caller's transaction, so a
rolled-back change sends nothing and a committed one is never lost."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from webhooks.services.queue import deliveries_enqueue_on_commit


def message_id_new() -> str:
    return f"msg_{uuid.uuid4().hex}"


def _event_new(*, event_type: str, data: dict[str, Any]) -> WebhookEvent:
    now = timezone.now()
    message_id = message_id_new()
    body = {"id": message_id, "event": event_type, "timestamp": now.isoformat(), "data": data}
    return WebhookEvent(
        message_id=message_id,
        event_type=event_type,
        payload=json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":")),
        created_at=now,
    )


def _event_create(*, event_type: str, data: dict[str, Any]) -> WebhookEvent:
    event = _event_new(event_type=event_type, data=data)
    event.save(force_insert=True)
    return event


def _subscriber_ids(event_type: str) -> list[int]:
    # Filtered in Python: JSON containment lookups are not portable (SQLite, SQL Server).
    active = WebhookSubscription.objects.filter(is_active=True).values_list("id", "events")
    return [pk for pk, events in active if event_type in events]


def _insert_values(
    model: type[models.Model], values: dict[str, Any], *, skip: tuple[str, ...] = ()
) -> tuple[list[str], list[Any]]:
    """(quoted columns, parameters) of a row of `model`: `values`, else each field's default."""
    columns, params = [], []
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key or model_field.name in skip:
            continue
        value = values.get(model_field.name, model_field.get_default())
        columns.append(connection.ops.quote_name(model_field.column))
        params.append(model_field.get_db_prep_save(value, connection))
    return columns, params


def _delivery_values(now: Any, **values: Any) -> dict[str, Any]:
    """A new delivery's own values. enqueued_at is now: the on-commit message is on its way,
    and the sweeper waits for it."""
    return {"next_attempt_at": now, "enqueued_at": now, "created_at": now, **values}


def _deliveries_create(event: WebhookEvent, subscription_ids: list[int]) -> list[int]:
    """One delivery per subscription in one INSERT … SELECT, its ids returned by it where the
    database can (the outbox is on the path of every NCR/CAPA change: model instances and
    bulk_create cost more than the statement)."""
    columns, params = _insert_values(
        WebhookDelivery,
        _delivery_values(event.created_at, event=event.pk),
        skip=("subscription",),
    )
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


def _outbox_write_postgresql(event: WebhookEvent) -> list[int]:
    """The subscribers' SELECT, the event's INSERT and its deliveries' INSERT as one statement
    (one round trip on the path of every NCR/CAPA change, with or without subscribers): the
    event row is written only if somebody subscribes, and the deliveries' ids come back. The
    same rows as the portable path; `events @> '["type"]'` is the `type in events` of a list."""
    quote = connection.ops.quote_name
    subscription_table = quote(WebhookSubscription._meta.db_table)
    event_table = quote(WebhookEvent._meta.db_table)
    event_columns, event_params = _insert_values(
        WebhookEvent, {f.name: getattr(event, f.attname) for f in WebhookEvent._meta.fields}
    )
    delivery_columns, delivery_params = _insert_values(
        WebhookDelivery, _delivery_values(event.created_at), skip=("event", "subscription")
    )
    delivery_columns += [
        quote(WebhookDelivery._meta.get_field(name).column) for name in ("event", "subscription")
    ]
    events_column = quote(WebhookSubscription._meta.get_field("events").column)
    active_column = quote(WebhookSubscription._meta.get_field("is_active").column)
    sql = (
        f"WITH subscribers AS (SELECT id FROM {subscription_table} "  # noqa: S608 - quoted names
        f"WHERE {active_column} AND {events_column} @> %s::jsonb), "
        f"new_event AS (INSERT INTO {event_table} ({', '.join(event_columns)}) "
        f"SELECT {', '.join(['%s'] * len(event_params))} "
        "WHERE EXISTS (SELECT 1 FROM subscribers) RETURNING id) "
        f"INSERT INTO {quote(WebhookDelivery._meta.db_table)} ({', '.join(delivery_columns)}) "
        f"SELECT {', '.join(['%s'] * len(delivery_params))}, new_event.id, subscribers.id "
        "FROM new_event, subscribers RETURNING id, event_id"
    )
    params = [json.dumps([event.event_type]), *event_params, *delivery_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if rows:
        event.pk = rows[0][1]
        event._state.adding, event._state.db = False, connection.alias
    return [delivery_id for delivery_id, _ in rows]


# No savepoint: the event belongs to the caller's change (both commit or neither), and a
# savepoint would cost two more round trips on the path of every NCR/CAPA change.
@transaction.atomic(savepoint=False)
def event_publish(*, event_type: str, data: dict[str, Any]) -> WebhookEvent | None:
    """Record `event_type` for every active subscription to it, in the current transaction;
    delivery is enqueued when it commits. None when nobody subscribes (nothing is stored)."""
    if connection.vendor == "postgresql":
        event = _event_new(event_type=event_type, data=data)
        delivery_ids = _outbox_write_postgresql(event)
        if not delivery_ids:
            return None
        deliveries_enqueue_on_commit(delivery_ids)
        return event
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
