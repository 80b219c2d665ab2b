"""How the API describes itself in OpenAPI: the error answers each operation can give, in
the one error shape, and descriptions written for integrators only (never a docstring)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular import openapi
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from eqms_integration.roles import roles_with

ERRORS_SCHEMA = {
    "type": "object",
    "description": "Field errors: each value is a list of messages, or of objects holding the "
    "errors of the fields nested in that field (items of a list, entries of an object). "
    "Empty for errors that concern no field.",
    "additionalProperties": {
        "type": "array",
        "items": {"oneOf": [{"type": "string"}, {"type": "object"}]},
    },
    "example": {"severity": ['"huge" is not a valid choice.']},
}


@extend_schema_field(ERRORS_SCHEMA)
class FieldErrorsField(serializers.DictField):
    pass


class ErrorSerializer(serializers.Serializer):
    schema_description = (
        "Every error of the API: a stable `code`, a message for people, and the field errors."
    )

    code = serializers.CharField(
        help_text="Stable, machine-readable: `validation_error`, `parse_error`, `bad_request`, "
        "`not_authenticated`, `authentication_failed`, `permission_denied`, `not_found`, "
        "`method_not_allowed`, `not_acceptable`, `conflict`, `request_too_large`, "
        "`unsupported_media_type`, "
        "`throttled`, `remote_error`, `server_error`."
    )
    message = serializers.CharField(help_text="What went wrong, for people.")
    errors = FieldErrorsField()


# Why each status is given, said once for every operation that can give it.
ERROR_DESCRIPTIONS = {
    "400": "`validation_error`: a field or query parameter is wrong (named in `errors`); "
    "`parse_error`: the body is not JSON the API accepts (invalid, or nested deeper than 64 "
    "levels); `bad_request`: the request could not be read at all.",
    "401": "`not_authenticated`: no API key and no session; `authentication_failed`: the key "
    "is malformed, unknown, wrong, revoked or expired (no hint which).",
    "403": "`permission_denied`: the API key lacks the scope, its address is not allowed, or "
    "the user's role lacks the permission (the message says which).",
    "404": "`not_found`: no such object, or a page past the last one.",
    "406": "`not_acceptable`: answers are `application/json` only; send that `Accept` (or none).",
    "409": "`conflict`: a concurrent change won a uniqueness race, or the object is still "
    "referenced; retry or remove the reference.",
    "413": "`request_too_large`: the body is over 2.5 MB.",
    "415": "`unsupported_media_type`: send `Content-Type: application/json`.",
    "429": "`throttled`: the API key's rate limit per minute (or a stricter one of this "
    "operation) was reached, or too many failed attempts came from the address; wait "
    "`Retry-After` seconds.",
    "502": "`remote_error`: the external system could not be reached or refused the values; "
    "nothing was changed.",
    "503": "`service_unavailable`: a backing service the request needs (database, cache, "
    "broker) is down; nothing was changed; retry after `Retry-After` seconds.",
}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class AutoSchema(openapi.AutoSchema):
    """Adds to each operation the 4xx answers it can give (unless declared), takes the
    description only from `extend_schema`, and component descriptions only from a serializer's
    `schema_description`, so no internal docstring reaches integrators."""

    def get_description(self) -> str:
        return ""

    def _access(self) -> str:
        """Who may call the operation, read from what the view declares (so it stays true)."""
        if self._is_public():
            return "**Access:** public; no API key or session needed."
        action = getattr(self.view, "action", None) or self.method.lower()
        scope = getattr(self.view, "required_scopes", {}).get(action)
        permission = getattr(self.view, "required_permissions", {}).get(action)
        keys = f"API keys with the scope `{scope}` (or `*`)" if scope else "no API key can call it"
        if permission:
            roles = ", ".join(roles_with(permission)) or "no role"
            people = f"users whose role grants `{permission}` ({roles}; superusers always)"
        else:  # undeclared: denied to everybody, superusers too
            people = "no user can either"
        return f"**Access:** {keys}; {people}."

    def _is_public(self) -> bool:
        return any(isinstance(p, AllowAny) for p in self.view.get_permissions())

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is not None:
            described = operation.get("description", "")
            operation["description"] = f"{described}\n\n{self._access()}".strip()
        return operation

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        schema = super()._map_basic_serializer(serializer, direction)
        schema.pop("description", None)
        description = getattr(serializer, "schema_description", None)
        if description:
            schema["description"] = description
        return schema

    def _error_codes(self) -> list[str]:
        public = self._is_public()
        codes = ["400", "401", "406", "429"] if public else ["400", "401", "403", "406", "429"]
        if "{" in self.path or (self.method == "GET" and self._is_list_view()):
            codes.append("404")
        if self.method in WRITE_METHODS and not public:
            codes.append("409")
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ["413", "415"]
        codes.append("503")  # every operation needs the database
        return sorted(codes)

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code)
        for code, response in responses.items():
            if code in ERROR_DESCRIPTIONS and not response.get("description"):
                response["description"] = ERROR_DESCRIPTIONS[code]
        for code in ("429", "503"):
            if code in responses:
                responses[code].setdefault("headers", {})["Retry-After"] = {
                    "schema": {"type": "integer"},
                    "description": "Seconds to wait before the next request.",
                }
        return responses


def documented(tag: str, **actions: Any) -> Callable[[type], type]:
    """Class decorator: every operation of the view under `tag`, and each action described by
    its `extend_schema(...)` (summary, description, examples, responses)."""

    def apply(view: type) -> type:
        return extend_schema_view(**actions)(extend_schema(tags=[tag])(view))

    return apply
