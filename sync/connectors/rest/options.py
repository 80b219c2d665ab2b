"""How a REST API lists, pages, filters, fetches and writes its items: the connection's
`options` JSON, validated once and read as a typed object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sync.connectors.errors import ConnectorError

# Every parameter name a pagination type takes, with its default.
PAGINATION: dict[str, dict[str, Any]] = {
    "none": {},
    "page": {"page_param": "page", "size_param": "page_size", "first_page": 1},
    "offset": {"offset_param": "offset", "limit_param": "limit"},
    "cursor": {"cursor_param": "cursor", "next_cursor_path": "next_cursor", "size_param": None},
    "next_link": {"next_path": "next", "size_param": None},
}
WRITE_METHODS = ("put", "post", "patch")
PATHS = ("items_path", "item_path", "count_path")
NAMES = ("delta_param", "fetch_param")
INTEGERS = {"max_pages": (1, 1_000_000), "page_size": (1, 10_000), "fetch_batch_size": (1, 1_000)}
KNOWN = (*PATHS, *NAMES, *INTEGERS, "pagination", "write_method")


@dataclass(frozen=True)
class RestOptions:
    items_path: str = ""  # where the list is in a listing ("" = the answer is the list)
    item_path: str = ""  # where the object is in a single-item answer ("" = the answer itself)
    count_path: str = ""  # the total count in the first listing page, if the API gives one
    pagination: dict[str, Any] = field(default_factory=lambda: {"type": "none"})
    delta_param: str = ""  # query parameter taking the last cursor value; "" = filter here only
    fetch_param: str = ""  # query parameter taking comma-separated ids; "" = GET one by one
    fetch_batch_size: int = 50
    write_method: str = "put"
    max_pages: int = 10_000
    page_size: int | None = None  # asked of the API; default: the run's batch size

    @property
    def paging(self) -> str:
        return self.pagination["type"]

    @classmethod
    def parse(cls, options: dict[str, Any] | None) -> RestOptions:
        """The options with every default filled in; ConnectorError naming every problem."""
        problems = rest_options_errors(options or {})
        if problems:
            raise ConnectorError("The connection's options are invalid: " + "; ".join(problems))
        given = dict(options or {})
        pagination = given.pop("pagination", None) or {"type": "none"}
        kind = pagination["type"]
        filled = {**PAGINATION[kind], **pagination}
        values = {name: value for name, value in given.items() if value is not None}
        return cls(pagination=filled, **values)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _path_error(name: str, value: Any) -> str | None:
    if not isinstance(value, str):
        return f"{name} must be a dotted path such as 'data.results' (a string)"
    if value and not all(value.split(".")):
        return f"{name} {value!r} has an empty segment"
    return None


def _name_error(name: str, value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f"{name} must be a non-empty query parameter name"
    return None


def _pagination_errors(pagination: Any) -> list[str]:
    if not isinstance(pagination, dict):
        return ['pagination must be an object such as {"type": "page"}']
    kind = pagination.get("type")
    if kind is None:
        return [f"pagination needs a type ({', '.join(PAGINATION)})"]
    if kind not in PAGINATION:
        return [f"pagination type {kind!r} is unknown ({', '.join(PAGINATION)})"]
    allowed = PAGINATION[kind]
    problems = [
        f"pagination {kind!r} takes no {name!r} ({', '.join(allowed) or 'nothing'})"
        for name in pagination
        if name != "type" and name not in allowed
    ]
    for name, value in pagination.items():
        if name in ("type", "first_page") or name not in allowed:
            continue
        if name.endswith("_path"):
            problem = _path_error(f"pagination.{name}", value)
            if problem is None and not value:
                problem = f"pagination.{name} must not be empty"
        elif value is None and name == "size_param":
            problem = None  # the API takes no page size
        else:
            problem = _name_error(f"pagination.{name}", value)
        if problem:
            problems.append(problem)
    if "first_page" in pagination and not _is_int(pagination["first_page"]):
        problems.append("pagination.first_page must be an integer")
    return problems


def _collisions(options: dict[str, Any]) -> list[str]:
    """Two roles sharing one query parameter would overwrite each other."""
    pagination = options.get("pagination")
    if not isinstance(pagination, dict) or pagination.get("type") not in PAGINATION:
        pagination = {}
    filled = {**PAGINATION.get(pagination.get("type", "none"), {}), **pagination}
    params = {
        f"pagination.{name}": value
        for name, value in filled.items()
        if name.endswith("_param") and isinstance(value, str)
    }
    if isinstance(options.get("delta_param"), str):
        params["delta_param"] = options["delta_param"]
    seen: dict[str, str] = {}
    problems = []
    for role, value in params.items():
        if value in seen:
            problems.append(f"{seen[value]} and {role} are both {value!r}")
        seen[value] = role
    return problems


def rest_options_errors(options: dict[str, Any]) -> list[str]:
    """Every problem with a REST connection's options, as sentences; [] when they are sound."""
    if not isinstance(options, dict):
        return ["options must be a JSON object"]
    problems = [
        f"unknown option {name!r} (known: {', '.join(KNOWN)})"
        for name in options
        if name not in KNOWN
    ]
    for name in PATHS:
        if options.get(name) is not None:
            problems += filter(None, [_path_error(name, options[name])])
    for name in NAMES:
        if options.get(name) is not None:
            problems += filter(None, [_name_error(name, options[name])])
    for name, (low, high) in INTEGERS.items():
        value = options.get(name)
        if value is not None and not (_is_int(value) and low <= value <= high):
            problems.append(f"{name} must be an integer from {low:,} to {high:,}")
    method = options.get("write_method")
    if method is not None and method not in WRITE_METHODS:
        problems.append(f"write_method {method!r} is not one of {', '.join(WRITE_METHODS)}")
    if options.get("pagination") is not None:
        problems += _pagination_errors(options["pagination"])
    return problems + _collisions(options)
