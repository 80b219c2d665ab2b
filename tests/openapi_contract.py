"""Checks a live API response against the OpenAPI schema the service publishes: the status
must be documented for that operation and the body must match its schema."""

from __future__ import annotations

import functools
import re
from typing import Any

import jsonschema


@functools.cache
def openapi_schema() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _template_regex(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")


def operation_for(method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The (path template, operation) serving `method path`; literal segments win over
    parameters (`/api/webhooks/deliveries/` is not `/api/webhooks/{id}/`)."""
    path = path if path.endswith("/") else path + "/"
    paths = openapi_schema()["paths"]
    matches = [t for t in paths if _template_regex(t).match(path)]
    assert matches, f"{path} is in no path of the schema"
    template = min(matches, key=lambda t: t.count("{"))
    operation = paths[template].get(method.lower())
    assert operation is not None, f"{method} {template} is not in the schema"
    return template, operation


def to_json_schema(node: Any, components: dict[str, Any]) -> Any:
    """OpenAPI 3.0 schema → JSON Schema: references inlined, `nullable` as a null type, and
    `oneOf` read as `anyOf`: spectacular writes blank-or-formatted strings as a `oneOf` that is
    exclusive only when formats are asserted, which jsonschema does not do by default."""
    if isinstance(node, list):
        return [to_json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return to_json_schema(components[node["$ref"].rsplit("/", 1)[1]], components)
    converted: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":  # a map of names (a field may be called "nullable")
            converted[key] = {name: to_json_schema(sub, components) for name, sub in value.items()}
        elif key not in ("nullable", "readOnly", "writeOnly", "example"):
            converted["anyOf" if key == "oneOf" else key] = to_json_schema(value, components)
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def assert_matches_schema(response: Any) -> tuple[str, str]:
    """`response` from Django's or DRF's test client; returns (method, path template)."""
    request = response.wsgi_request
    template, operation = operation_for(request.method, request.path)
    status = str(response.status_code)
    documented = operation["responses"]
    assert status in documented, (
        f"{request.method} {template} answered {status}, documented: {sorted(documented)}"
    )
    content = documented[status].get("content")
    if content is None:
        assert not response.content, f"{request.method} {template} {status} should be empty"
        return request.method, template
    schema = content["application/json"]["schema"]
    components = openapi_schema()["components"]["schemas"]
    try:
        jsonschema.validate(response.json(), to_json_schema(schema, components))
    except jsonschema.ValidationError as exc:
        where = "/".join(str(part) for part in exc.absolute_path)
        raise AssertionError(
            f"{request.method} {template} {status}: {exc.message} at {where or 'the top'}"
        ) from None
    return request.method, template
