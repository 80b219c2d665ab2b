"""The event catalogue (GET /api/webhooks/event-types/) and the contract it publishes: every
payload the service sends validates against the JSON Schema of its event type."""

from __future__ import annotations

import json
from datetime import date, timedelta

import jsonschema
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys import services as keys
from operations.models import AlertKind
from operations.tasks import sweep_alerts
from quality import services as quality
from quality.models import Equipment
from sync.engine.runner import execute
from sync.services.runs import run_claim, run_retry
from tests.sync.sources import SQLiteSource
from tests.sync.test_engine import T0, configure, rows, run
from webhooks import catalogue, services
from webhooks.models import OPERATIONAL_EVENTS, SUBSCRIBABLE_EVENTS, WebhookDelivery, WebhookEvent

pytestmark = pytest.mark.django_db


def validator(schema: dict) -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def key_client(*scopes: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=keys.apikey_create(name="Reader", scopes=list(scopes)).key)
    return client


def test_every_event_a_subscription_can_choose_is_in_the_catalogue_with_a_schema_and_example():
    names = [spec.name for spec in catalogue.event_types()]

    assert names == list(SUBSCRIBABLE_EVENTS)
    for spec in catalogue.event_types():
        assert spec.schema["type"] == "object" and spec.version >= 1 and spec.description
        validator(spec.schema).validate(spec.example)


def test_every_kind_of_alert_is_an_operational_event_a_subscription_can_choose():
    assert sorted(OPERATIONAL_EVENTS) == sorted(AlertKind.values)
    assert set(OPERATIONAL_EVENTS) < set(SUBSCRIBABLE_EVENTS)


def test_the_catalogue_is_served_to_readers_of_webhooks_and_its_examples_validate():
    response = key_client("webhooks:read").get("/api/webhooks/event-types/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(SUBSCRIBABLE_EVENTS)
    by_name = {entry["name"]: entry for entry in body["results"]}
    assert set(by_name) == set(SUBSCRIBABLE_EVENTS)
    assert "webhook.delivery.exhausted" in by_name and "ncr.closed" in by_name
    for entry in body["results"]:
        assert entry["schema"]["properties"]["event"] == {"const": entry["name"]}
        validator(entry["schema"]).validate(entry["example"])


def test_the_catalogue_needs_the_webhooks_read_scope():
    response = key_client("ncr:read").get("/api/webhooks/event-types/")

    assert response.status_code == 403
    assert "webhooks:read" in response.json()["message"]


def test_a_payload_that_breaks_the_contract_does_not_validate():
    spec = catalogue.event_type("ncr.created")
    broken = {**spec.example, "data": {**spec.example["data"], "colour": "red"}}

    with pytest.raises(jsonschema.ValidationError):
        validator(spec.schema).validate(broken)
    with pytest.raises(jsonschema.ValidationError):
        validator(spec.schema).validate({**spec.example, "event": "capa.created"})


def _publish_one_of_each(receiver, tmp_path, settings) -> None:
    """Every event type, published by the code that publishes it in production."""
    ncr = quality.ncr_create(title="Weld crack", detected_at=timezone.now(), severity="major")
    quality.ncr_update(ncr=ncr, data={"status": "under_investigation"})
    capa = quality.capa_create(
        title="Requalify", capa_type="corrective", ncr=ncr, due_date=date(2026, 12, 15)
    )
    quality.capa_create(title="Train", capa_type="preventive")  # without an NCR
    quality.capa_update(capa=capa, data={"owner": "QA"})
    quality.capa_close(capa=capa)
    quality.ncr_close(ncr=ncr)

    # A receiver that fails once and then answers 410: a delivery exhausted, a disabling.
    failing, _ = services.subscription_create(
        name="MES", url=receiver.url + "?mes", events=["capa.created"], retry_enabled=False
    )
    receiver.respond(500, 410)
    quality.capa_create(title="Gauge", capa_type="corrective")
    quality.capa_create(title="Gauge 2", capa_type="corrective")
    for delivery in WebhookDelivery.objects.filter(subscription=failing).order_by("id"):
        services.delivery_attempt(delivery_id=delivery.pk)

    settings.SYNC_LOCAL_SETTLE_SECONDS = 0
    source = SQLiteSource(tmp_path)
    source.create()
    source.insert(rows(2))
    config = configure(
        source, sync_direction="bidirectional", conflict_strategy="manual", max_retries=1
    )
    run(config)
    source.update("EQ-00001", "ERP name", T0 + timedelta(days=1))
    quality.equipment_update(
        equipment=Equipment.objects.get(number="EQ-00001"), data={"name": "QMS name"}
    )
    run(config)  # a conflict left to a person
    with source.cursor() as cur:
        cur.execute(f"DROP TABLE {source.table}")
    failed = run(config)
    execute(run_claim(run_retry(run=failed).pk))  # the last attempt fails: sync.run.failed

    keys.apikey_create(
        name="ERP", scopes=["ncr:read"], expires_at=timezone.now() + timedelta(days=3)
    )
    sweep_alerts()


def test_every_payload_published_validates_against_the_schema_of_its_event_type(
    make_subscription, receiver, tmp_path, sync_test_systems, settings
):
    make_subscription(name="Everything", events=list(SUBSCRIBABLE_EVENTS))

    _publish_one_of_each(receiver, tmp_path, settings)

    events = list(WebhookEvent.objects.exclude(event_type="webhook.test"))
    assert {event.event_type for event in events} == set(SUBSCRIBABLE_EVENTS)
    for event in events:
        body = json.loads(event.payload)
        errors = list(validator(catalogue.event_type(event.event_type).schema).iter_errors(body))
        assert not errors, (event.event_type, [e.message for e in errors], body)
