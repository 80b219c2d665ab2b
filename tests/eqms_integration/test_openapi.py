"""The OpenAPI schema is a contract: every operation is described for integrators, documents
the errors it gives, and every answer the API gives (successes and errors alike, for every
operation) matches the schema it publishes."""

from __future__ import annotations

import inspect
import json
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from apikeys.services import apikey_create
from quality import services as quality
from quality.models import Equipment
from sync.models import SyncConfiguration, SyncConflict, SyncRecord, SyncRun
from tests.openapi_contract import assert_matches_schema, openapi_schema
from tests.sync.sources import SQLiteSource
from tests.sync.test_engine import T0, configure, rows, run
from tests.webhooks.conftest import allow_loopback, receiver  # noqa: F401 - fixtures used here

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")


def operations() -> list[tuple[str, str, dict]]:
    return [
        (method.upper(), path, op)
        for path, item in openapi_schema()["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


OPERATIONS = operations()
IDS = [f"{m} {p}" for m, p, _ in OPERATIONS]


@pytest.mark.parametrize(("method", "path", "op"), OPERATIONS, ids=IDS)
def test_every_operation_has_a_summary_a_description_and_a_tag(method, path, op):
    assert op.get("summary"), "no summary"
    assert len(op.get("description", "")) >= 40, "no description worth the name"
    assert op.get("tags") and op["tags"][0] in {t["name"] for t in openapi_schema()["tags"]}


def test_every_tag_is_described():
    tags = openapi_schema()["tags"]

    assert all(tag.get("description") for tag in tags)
    assert {t for _, _, op in OPERATIONS for t in op["tags"]} == {tag["name"] for tag in tags}


def _api_classes() -> set[type]:
    from drf_spectacular.generators import EndpointEnumerator

    views = {callback.cls for _, _, _, callback in EndpointEnumerator().get_api_endpoints()}
    classes = set()
    for view in views:
        for klass in inspect.getmro(view):
            if klass.__module__.split(".")[0] in {
                "quality",
                "apikeys",
                "webhooks",
                "sync",
                "eqms_integration",
            }:
                classes.add(klass)
        serializer = getattr(view, "serializer_class", None)
        if serializer is not None:
            classes.update(k for k in inspect.getmro(serializer) if k.__module__ != "builtins")
    return classes


def test_no_docstring_of_the_code_appears_in_the_schema():
    text = json.dumps(openapi_schema())
    docstrings = []
    for klass in _api_classes():
        docstrings.append(inspect.getdoc(klass))
        docstrings += [
            inspect.getdoc(member)
            for _, member in inspect.getmembers(klass, inspect.isfunction)
            if member.__qualname__.startswith(klass.__name__)
        ]
    lines = {line.strip() for doc in docstrings if doc for line in doc.splitlines()}

    leaked = sorted(line for line in lines if len(line) > 25 and json.dumps(line)[1:-1] in text)
    assert leaked == []
    assert "Subclasses set" not in text


@pytest.mark.parametrize(("method", "path", "op"), OPERATIONS, ids=IDS)
def test_every_operation_documents_the_errors_it_can_give(method, path, op):
    codes = set(op["responses"])
    expected = {"400", "401", "406", "429"}
    if path != "/api/":
        expected.add("403")
    if "{" in path:
        expected.add("404")
    if method in ("POST", "PUT", "PATCH"):
        expected |= {"413", "415"}
    if method != "GET" and path != "/api/":
        expected.add("409")

    assert expected <= codes
    for code in codes - {"200", "201", "202", "204"}:
        schema = op["responses"][code]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}
        assert op["responses"][code]["description"]


MAIN_OPERATIONS = [
    ("POST", "/api/ncrs/"),
    ("PATCH", "/api/ncrs/{id}/"),
    ("POST", "/api/ncrs/{id}/close/"),
    ("POST", "/api/capas/"),
    ("PATCH", "/api/capas/{id}/"),
    ("POST", "/api/capas/{id}/close/"),
    ("POST", "/api/api-keys/"),
    ("POST", "/api/api-keys/{id}/rotate/"),
    ("POST", "/api/api-keys/{id}/revoke/"),
    ("POST", "/api/webhooks/"),
    ("POST", "/api/webhooks/{id}/test/"),
    ("POST", "/api/webhooks/{id}/regenerate-secret/"),
    ("POST", "/api/sync/configurations/{id}/execute/"),
    ("GET", "/api/sync/configurations/{id}/status/"),
    ("GET", "/api/sync/configurations/{id}/delta/"),
    ("POST", "/api/sync/conflicts/{id}/resolve/"),
]


@pytest.mark.parametrize(("method", "path"), MAIN_OPERATIONS, ids=" ".join)
def test_the_main_operations_show_examples_of_request_and_answer(method, path):
    op = openapi_schema()["paths"][path][method.lower()]
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    answers = [r.get("content", {}).get("application/json", {}) for r in op["responses"].values()]

    assert method == "GET" or body.get("examples") or "requestBody" not in op
    assert any(answer.get("examples") for answer in answers)


def test_the_index_lists_every_resource_with_its_url(client):
    response = client.get("/api/")

    assert response.status_code == 200
    body = response.json()
    names = {resource["name"] for resource in body["resources"]}
    assert {
        "ncrs",
        "capas",
        "equipment",
        "suppliers",
        "api-keys",
        "webhooks",
        "webhook-deliveries",
        "sync-connections",
        "sync-configurations",
        "sync-runs",
        "sync-conflicts",
        "records",
        "api-key-events",
    } <= names
    for resource in body["resources"]:
        assert resource["url"].startswith("http://testserver/api/")
        assert resource["description"]
    assert body["schema"] == "http://testserver/api/schema/"
    assert body["docs"] == "http://testserver/api/docs/"
    assert_matches_schema(response)


def test_every_resource_of_the_index_answers_its_list(client_for):
    api = client_for("superuser")

    for resource in APIClient().get("/api/").json()["resources"]:
        answer = api.get(resource["url"])
        assert answer.status_code == 200, resource
        assert_matches_schema(answer)


# --- Live answers against the schema ---------------------------------------------------------


@pytest.fixture
def world(tmp_path, settings, receiver, sync_test_systems):  # noqa: F811 - imported above
    """A bit of everything: NCR, CAPA, master data, a key, a subscription with deliveries, a
    two-way sync configuration with a finished run, a conflict and a queued run."""
    settings.SYNC_LOCAL_SETTLE_SECONDS = 0
    settings.SYNC_SQLITE_DIRS = [str(tmp_path)]
    source = SQLiteSource(tmp_path)
    source.create()
    source.insert(rows(2))
    config = configure(source, sync_direction="bidirectional", conflict_strategy="manual")
    first = run(config)
    source.update("EQ-00001", "ERP name", T0 + timedelta(days=1))
    quality.equipment_update(
        equipment=Equipment.objects.get(number="EQ-00001"), data={"name": "QMS name"}
    )
    run(config)
    from webhooks import services as hooks

    subscription, _ = hooks.subscription_create(
        name="ERP", url=receiver.url, events=["ncr.created", "ncr.closed", "capa.created"]
    )
    ncr = quality.ncr_create(title="Crack", severity="major")
    capa = quality.capa_create(title="Weld again", capa_type="corrective")
    hooks.subscription_send_test(subscription=subscription)
    key = apikey_create(name="ERP", scopes=["ncr:read"], actor="test")
    orders = configure(
        source,
        name="ERP gauges as records",
        entity_type="orders",
        sync_type="full",
        field_mappings=[{"local": "text", "remote": "description"}],
    )
    run(orders)
    from audit.services import event_record

    audited = event_record(
        action="updated",
        object_type="ncr",
        object_id=str(ncr.pk),
        object_repr=ncr.number,
        changes={"title": ["Crak", "Crack"]},
    )
    return {
        "audit_event": audited,
        "config": config,
        "connection": config.connection,
        "run": first,
        "ncr": ncr,
        "capa": capa,
        "subscription": subscription,
        "key": key,
        "conflict": SyncConflict.objects.get(),
        "delivery": subscription.deliveries.first(),
        "supplier": quality.supplier_create(number="SUP-1", name="Acme"),
        "equipment": Equipment.objects.get(number="EQ-00002"),
        "record": SyncRecord.objects.first(),
        "table": source.table,
    }


def live_calls(w: dict) -> list[tuple[str, str, dict | None]]:
    c, n, k, s = w["config"].pk, w["ncr"].pk, w["key"].api_key.pk, w["subscription"].pk
    ncr = {"title": "Dent", "severity": "minor"}
    conn = {"name": "Shop API", "kind": "rest", "base_url": "http://127.0.0.1:9/api/"}
    config = {
        "system_type": "ERP",
        "connection": w["connection"].pk,
        "entity_type": "orders",
        "sync_type": "full",
        "remote_object": w["table"],
        "remote_key": "equipment_no",
        "field_mappings": [{"local": "text", "remote": "description"}],
    }
    return [
        ("get", "/api/", None),
        ("get", "/api/audit-events/?object_type=ncr", None),
        ("get", f"/api/audit-events/{w['audit_event'].pk}/", None),
        ("get", "/api/ncrs/?ordering=-created_at", None),
        ("post", "/api/ncrs/", ncr),
        ("get", f"/api/ncrs/{n}/", None),
        ("put", f"/api/ncrs/{n}/", ncr),
        ("patch", f"/api/ncrs/{n}/", {"status": "under_investigation"}),
        # before the NCR closes: no CAPA is opened against a closed NCR
        ("post", "/api/capas/", {"title": "Train", "capa_type": "preventive", "ncr": n}),
        ("post", f"/api/ncrs/{n}/close/", None),
        ("get", "/api/capas/", None),
        ("get", f"/api/capas/{w['capa'].pk}/", None),
        ("put", f"/api/capas/{w['capa'].pk}/", {"title": "Train", "capa_type": "preventive"}),
        ("patch", f"/api/capas/{w['capa'].pk}/", {"owner": "QA"}),
        ("post", f"/api/capas/{w['capa'].pk}/close/", None),
        ("get", "/api/equipment/", None),
        ("post", "/api/equipment/", {"number": "E", "name": "x"}),
        ("get", f"/api/equipment/{w['equipment'].pk}/", None),
        ("put", f"/api/equipment/{w['equipment'].pk}/", {"number": "EQ-00002", "name": "y"}),
        ("patch", f"/api/equipment/{w['equipment'].pk}/", {"location": "Hall 1"}),
        ("get", "/api/suppliers/", None),
        ("post", "/api/suppliers/", {"number": "S", "name": "x"}),
        ("get", f"/api/suppliers/{w['supplier'].pk}/", None),
        ("put", f"/api/suppliers/{w['supplier'].pk}/", {"number": "SUP-1", "name": "Acme AG"}),
        ("patch", f"/api/suppliers/{w['supplier'].pk}/", {"approval_status": "approved"}),
        ("get", "/api/api-keys/", None),
        ("get", f"/api/api-keys/{k}/", None),
        ("post", "/api/api-keys/", {"name": "MES", "scopes": ["ncr:read"]}),
        ("put", f"/api/api-keys/{k}/", {"name": "ERP 2", "scopes": ["ncr:read", "capa:read"]}),
        ("patch", f"/api/api-keys/{k}/", {"rate_limit_per_minute": 600}),
        ("get", f"/api/api-keys/{k}/events/", None),
        ("get", "/api/api-key-events/", None),
        ("post", f"/api/api-keys/{k}/rotate/", {"grace_period_seconds": 60}),
        ("post", f"/api/api-keys/{k}/revoke/", {"reason": "leaked"}),
        ("delete", f"/api/api-keys/{k}/", None),
        ("get", "/api/webhooks/", None),
        ("get", f"/api/webhooks/{s}/", None),
        ("patch", f"/api/webhooks/{s}/", {"max_retries": 3}),
        (
            "put",
            f"/api/webhooks/{s}/",
            {"name": "ERP", "url": w["subscription"].url, "events": ["ncr.created"]},
        ),
        ("get", f"/api/webhooks/{s}/deliveries/", None),
        ("get", f"/api/webhooks/{s}/statistics/?days=30", None),
        ("post", f"/api/webhooks/{s}/test/", None),
        ("post", f"/api/webhooks/{s}/regenerate-secret/", {"grace_period_seconds": 0}),
        (
            "post",
            f"/api/webhooks/{s}/recover/",
            {"since": "2026-01-01T00:00:00Z", "until": "2099-01-01T00:00:00Z"},
        ),
        ("get", "/api/webhooks/deliveries/", None),
        ("get", "/api/webhooks/event-types/", None),
        ("get", f"/api/webhooks/deliveries/{w['delivery'].pk}/", None),
        ("post", f"/api/webhooks/deliveries/{w['delivery'].pk}/retry/", None),
        (
            "post",
            "/api/webhooks/",
            {"name": "MES", "url": w["subscription"].url, "events": ["capa.closed"]},
        ),
        ("get", "/api/sync/connections/", None),
        ("post", "/api/sync/connections/", conn),
        ("get", f"/api/sync/connections/{w['connection'].pk}/", None),
        ("patch", f"/api/sync/connections/{w['connection'].pk}/", {"timeout_seconds": 20}),
        (
            "put",
            f"/api/sync/connections/{w['connection'].pk}/",
            {"name": w["connection"].name, "kind": "sqlite", "database": w["connection"].database},
        ),
        ("post", f"/api/sync/connections/{w['connection'].pk}/test/", None),
        ("get", f"/api/sync/connections/{w['connection'].pk}/describe/?object=erp_equipment", None),
        ("get", "/api/sync/configurations/", None),
        ("get", f"/api/sync/configurations/{c}/", None),
        ("patch", f"/api/sync/configurations/{c}/", {"description": "Gauges from the ERP"}),
        ("get", f"/api/sync/configurations/{c}/status/", None),
        ("get", f"/api/sync/configurations/{c}/delta/?limit=5", None),
        ("get", f"/api/sync/configurations/{c}/logs/", None),
        ("get", f"/api/sync/configurations/{c}/conflicts/?status=pending", None),
        ("get", "/api/sync/conflicts/", None),
        ("get", f"/api/sync/conflicts/{w['conflict'].pk}/", None),
        (
            "post",
            f"/api/sync/conflicts/{w['conflict'].pk}/resolve/",
            {"resolution": "ignored", "reason": "a duplicate"},
        ),
        ("get", "/api/sync/logs/", None),
        ("get", f"/api/sync/logs/{w['run'].pk}/", None),
        ("post", f"/api/sync/logs/{w['run'].pk}/retry/", None),
        ("get", "/api/records/", None),
        ("get", f"/api/records/{w['record'].pk}/", None),
        ("post", "/api/sync/configurations/", {**config, "name": "Copy"}),
        ("put", f"/api/sync/configurations/{c}/", {**config, "name": "ERP equipment"}),
    ]


def test_every_answer_of_a_working_day_matches_the_schema(world, client_for):
    api = client_for("superuser")
    exercised = set()

    for method, url, body in live_calls(world):
        call = getattr(api, method)
        response = call(url, body, format="json") if body else call(url)
        assert response.status_code < 300, (method, url, response.content)
        exercised.add(assert_matches_schema(response))
    retried = SyncRun.objects.get(status="queued")
    later = [
        api.post(f"/api/sync/logs/{retried.pk}/cancel/"),
        api.post(
            f"/api/sync/configurations/{world['config'].pk}/execute/",
            {"dry_run": True},
            format="json",
        ),
        *[
            api.delete(f"/api/sync/configurations/{pk}/")
            for pk in SyncConfiguration.objects.values_list("pk", flat=True)
        ],
        api.delete(f"/api/sync/connections/{world['connection'].pk}/"),
        api.delete(f"/api/webhooks/{world['subscription'].pk}/"),
    ]

    for response in later:
        assert response.status_code < 300, response.content
        exercised.add(assert_matches_schema(response))
    assert exercised == {(method, path) for method, path, _ in OPERATIONS}  # every one


def test_the_error_answers_match_the_schema(world, client_for, settings):
    settings.WEBHOOK_TEST_RATE = "1/minute"
    admin, auditor, anonymous = client_for("superuser"), client_for("Auditor"), APIClient()
    key = APIClient()
    key.credentials(HTTP_X_API_KEY=world["key"].key)
    bad_key = APIClient()
    bad_key.credentials(HTTP_X_API_KEY="eqms_nope_nope")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    s = world["subscription"].pk

    answers = [
        (401, anonymous.get("/api/ncrs/")),
        (401, bad_key.get("/api/ncrs/")),
        (403, key.get("/api/capas/")),
        (403, auditor.post("/api/ncrs/", {"title": "x"}, format="json")),
        (404, admin.get("/api/ncrs/999999/")),
        (404, admin.get("/api/ncrs/?page=99")),
        (400, admin.post("/api/ncrs/", {"severity": "huge"}, format="json")),
        (400, admin.generic("POST", "/api/ncrs/", b"{", content_type="application/json")),
        (400, admin.get("/api/ncrs/?ordering=colour")),
        (400, admin.get(f"/api/webhooks/{s}/statistics/?days=0")),
        (400, admin.get(f"/api/sync/connections/{world['connection'].pk}/describe/")),
        (
            413,
            admin.generic(
                "POST",
                "/api/ncrs/",
                b'{"title": "' + b"x" * 2000 + b'"}',
                content_type="application/json",
            ),
        ),
        (415, admin.generic("POST", "/api/ncrs/", b"title=x", content_type="text/plain")),
        (406, admin.get("/api/ncrs/", HTTP_ACCEPT="application/xml")),
        (400, admin.delete(f"/api/sync/connections/{world['connection'].pk}/")),  # in use
        (200, admin.post(f"/api/webhooks/{s}/test/")),
        (429, admin.post(f"/api/webhooks/{s}/test/")),
    ]

    for status, response in answers:
        assert response.status_code == status, (status, response.content)
        assert_matches_schema(response)
    assert answers[-1][1]["Retry-After"]


def _examples(op: dict) -> list[tuple[str, dict, object]]:
    """(where, schema, example value) for every example of the operation."""
    found = []
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    for name, example in body.get("examples", {}).items():
        found.append((f"request {name}", body["schema"], example["value"]))
    for code, response in op["responses"].items():
        content = response.get("content", {}).get("application/json", {})
        for name, example in content.get("examples", {}).items():
            found.append((f"{code} {name}", content["schema"], example["value"]))
    return found


@pytest.mark.parametrize(("method", "path", "op"), OPERATIONS, ids=IDS)
def test_every_example_matches_the_schema_it_illustrates(method, path, op):
    import jsonschema

    from tests.openapi_contract import to_json_schema

    components = openapi_schema()["components"]["schemas"]
    for where, schema, value in _examples(op):
        target = to_json_schema(schema, components)
        if where.startswith("request"):  # requests omit what the server fills in
            target = {**target, "required": []}
        try:
            jsonschema.validate(value, target)
        except jsonschema.ValidationError as exc:
            pytest.fail(f"{where}: {exc.message} at {list(exc.absolute_path)}")
