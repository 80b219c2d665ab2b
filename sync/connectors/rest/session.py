"""One REST resource as the remote side of a sync configuration (the RemoteSession contract):
list it page by page with an optional server-side delta filter and a client-side keyset
filter, fetch items by id, and write rows with PUT, POST or PATCH."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote

from sync.connectors.base import RemoteSpec, WriteFailure, external_id
from sync.connectors.cursors import in_window
from sync.connectors.errors import ConnectorError
from sync.connectors.rest.client import HttpClient, display
from sync.connectors.rest.options import RestOptions
from sync.connectors.rest.paging import Pager, items_at
from sync.connectors.rest.values import MISSING, at_path, nest, query_value, row_of, to_json

RESOURCE = re.compile(r"^[A-Za-z0-9_\-.~/{}]+$")


def resource_url(base_url: str, path: str) -> str:
    """base_url + a relative resource path; never absolute, never climbing out with '..'."""
    if not RESOURCE.match(path or "") or path.startswith("/") or ".." in path or "//" in path:
        raise ConnectorError(
            f"{path!r} is not a resource path relative to base_url, such as 'api/v1/items'."
        )
    return base_url + path


class RESTSession:
    # APIs rarely promise an order, so the engine saves its cursor only after a complete run.
    ordered = False
    catalogue = None  # an API has no catalogue to describe

    def __init__(
        self, client: HttpClient, options: RestOptions, base_url: str, spec: RemoteSpec
    ) -> None:
        self.client = client
        self.options = options
        self.base_url = base_url
        self.spec = spec
        self.url = resource_url(base_url, spec.object_name)
        cursor = [spec.cursor_field] if spec.cursor_field else []
        self.names = list(dict.fromkeys([spec.key, *cursor, *spec.columns]))

    def item_url(self, external_id: str) -> str:
        """<resource>/<id>, or <resource>/<id>/ when the resource path ends with a slash."""
        quoted = quote(external_id, safe="")
        if quoted in (".", ".."):
            quoted = quoted.replace(".", "%2E")  # would otherwise name the resource or its parent
        if self.url.endswith("/"):
            return f"{self.url}{quoted}/"
        return f"{self.url}/{quoted}"

    def _row(self, item: Any, url: str) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise self.client.fail(
                f"Expected JSON objects as items from GET {display(url)}, got a "
                f"{type(item).__name__}."
            )
        row = row_of(item, self.names)
        if row[self.spec.key] is None:
            raise self.client.fail(
                f"An item from GET {display(url)} has no {self.spec.key!r} (the key field)."
            )
        return row

    def _pager(self, after: tuple[Any, Any] | None, size: int) -> Pager:
        params = {}
        if after is not None and after[0] is not None and self.options.delta_param:
            params[self.options.delta_param] = query_value(after[0])
        return Pager(
            self.client,
            self.options,
            base_url=self.base_url,
            url=self.url,
            params=params,
            size=size,
        )

    def _wanted(self, row: dict[str, Any], after: tuple | None, upper: Any | None) -> bool:
        """Keyset filter: (cursor, key) > after and cursor <= upper, comparing like types."""
        if after is None and upper is None:
            return True
        try:
            return in_window(
                row[self.spec.cursor_field], row[self.spec.key], after=after, upper=upper
            )
        except ValueError as exc:
            raise self.client.fail(
                f"Item {external_id(row, self.spec.key)!r}: its {self.spec.cursor_field!r} or key "
                f"cannot be compared with the stored cursor ({exc})."
            ) from None

    def upper_bound(self) -> Any | None:
        return None  # an API has no cheap MAX(); the run takes what the pages give

    def count(self, *, after: tuple[Any, Any] | None, upper: Any | None) -> int | None:
        """The API's total from the first page (the count_path option), else unknown. With
        client-side filtering it may count a few items the run will skip."""
        if not self.options.count_path:
            return None
        pager = self._pager(after if self.spec.cursor_field else None, size=1)
        next(iter(pager), None)
        total = at_path(pager.first_document, self.options.count_path)
        if isinstance(total, int) and not isinstance(total, bool) and total >= 0:
            return total
        return None

    def batches(
        self, *, after: tuple[Any, Any] | None, upper: Any | None, size: int
    ) -> Iterator[list[dict[str, Any]]]:
        if not self.spec.cursor_field:
            after = upper = None
        for items in self._pager(after, size):
            rows = [self._row(item, self.url) for item in items]
            rows = [row for row in rows if self._wanted(row, after, upper)]
            for start in range(0, len(rows), size):
                yield rows[start : start + size]

    def fetch(self, external_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        ids = [i for i in dict.fromkeys(external_ids) if i != ""]
        if self.options.fetch_param:
            return self._fetch_listed(ids)
        found = {}
        for wanted in ids:
            answer = self.client.send("GET", self.item_url(wanted))
            if answer.status == 404:
                continue
            if not answer.ok:
                raise self.client.fail(self.client.problem(answer))
            item = at_path(self.client.json_of(answer), self.options.item_path)
            if item is MISSING or not isinstance(item, dict):
                where = f"at {self.options.item_path!r}" if self.options.item_path else ""
                raise self.client.fail(
                    f"Expected a JSON object {where} from GET {display(answer.url)}; check the "
                    "item_path option."
                )
            found[wanted] = row_of(item, self.names)
        return found

    def _fetch_listed(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        wanted, found = set(ids), {}
        step = self.options.fetch_batch_size
        for start in range(0, len(ids), step):
            params = {self.options.fetch_param: ",".join(ids[start : start + step])}
            document, answered = self.client.get_json(self.url, params)
            for item in items_at(self.client, document, self.options.items_path, answered):
                row = self._row(item, answered)
                if (key := external_id(row, self.spec.key)) in wanted:
                    found[key] = row
        return found

    def upsert(self, rows: Sequence[dict[str, Any]]) -> list[WriteFailure]:
        method = self.options.write_method.upper()
        failures = []
        for row in rows:
            problem, written = self._write(method, row)
            if problem:
                failures.append(WriteFailure(written, problem))
        return failures

    def _write(self, method: str, row: dict[str, Any]) -> tuple[str, str]:
        """('', id) when the row was written, else (why not, id)."""
        if row.get(self.spec.key) in (None, ""):
            return f"The row has no {self.spec.key!r} (the key field).", ""
        ident = external_id(row, self.spec.key)
        try:
            body = to_json(nest(row))
        except (TypeError, ValueError) as exc:
            return f"Not sent: {exc}.", ident
        url = self.url if method == "POST" else self.item_url(ident)
        try:
            answer = self.client.send(method, url, body=body, excerpt_only=True)
        except ConnectorError as exc:
            return str(exc), ident
        return ("" if answer.ok else self.client.problem(answer)), ident
