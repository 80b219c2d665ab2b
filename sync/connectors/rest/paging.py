"""Reading a listing page by page in each pagination style: stop at its end, and refuse a
server that would keep us paging forever or send us (with our credentials) to another host."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

from sync.connectors.rest.client import HttpClient, display, origin
from sync.connectors.rest.options import RestOptions
from sync.connectors.rest.values import MISSING, at_path

ENDS = (MISSING, None, "")


def items_at(client: HttpClient, document: Any, path: str, url: str) -> list[Any]:
    found = at_path(document, path)
    if not isinstance(found, list):
        where = f"at {path!r}" if path else "as the whole answer"
        got = "nothing" if found is MISSING else f"a {type(found).__name__}"
        raise client.fail(
            f"Expected a JSON list of items {where} from GET {display(url)}, got {got}; "
            "check the connection's items_path option."
        )
    return found


class Pager:
    """The pages (lists of raw items) of one listing, each fetched when it is wanted."""

    def __init__(
        self,
        client: HttpClient,
        options: RestOptions,
        *,
        base_url: str,
        url: str,
        params: dict[str, Any],
        size: int,
    ) -> None:
        self.client = client
        self.options = options
        self.base_url = base_url
        self.url = url
        self.params = params
        self.limit = options.page_size or size
        self.requests = 0
        self.first_document: Any = None

    def __iter__(self) -> Iterator[list[Any]]:
        walk = {
            "none": self._single,
            "page": self._numbered,
            "offset": self._numbered,
            "cursor": self._cursors,
            "next_link": self._links,
        }[self.options.paging]
        return walk()

    def _get(self, url: str, params: dict[str, Any] | None) -> tuple[Any, list[Any], str]:
        self.requests += 1
        if self.requests > self.options.max_pages:
            raise self.client.fail(
                f"Stopped after {self.options.max_pages:,} pages of {display(self.url)}: the "
                "API keeps announcing more (raise the max_pages option if that is right)."
            )
        document, answered = self.client.get_json(url, params)
        if self.requests == 1:
            self.first_document = document
        items = items_at(self.client, document, self.options.items_path, answered)
        return document, items, answered

    def _endless(self, what: str, hint: str = "") -> Exception:
        return self.client.fail(
            f"GET {display(self.url)} sent the same {what} twice{hint}; stopped rather than "
            "read the same pages forever."
        )

    def _single(self) -> Iterator[list[Any]]:
        _, items, _ = self._get(self.url, self.params)
        if items:
            yield items

    def _numbered(self) -> Iterator[list[Any]]:
        paging = self.options.pagination
        by_page = self.options.paging == "page"
        position = paging["first_page"] if by_page else 0
        longest, previous = 0, None
        while True:
            params = dict(self.params)
            if by_page:
                params[paging["page_param"]] = position
                if paging["size_param"]:
                    params[paging["size_param"]] = self.limit
            else:
                params[paging["offset_param"]] = position
                params[paging["limit_param"]] = self.limit
            _, items, _ = self._get(self.url, params)
            if not items:
                return
            if items == previous:
                raise self._endless("page", " (does it ignore the page or offset parameter?)")
            yield items
            # A page shorter than an earlier one is the last. The first page is never taken
            # as short: a server may cap the page size below the one asked for.
            if len(items) < longest:
                return
            longest, previous = max(longest, len(items)), items
            position += 1 if by_page else len(items)

    def _cursors(self) -> Iterator[list[Any]]:
        paging = self.options.pagination
        seen: set[str] = set()
        cursor = None
        while True:
            params = dict(self.params)
            if paging["size_param"]:
                params[paging["size_param"]] = self.limit
            if cursor is not None:
                params[paging["cursor_param"]] = cursor
            document, items, _ = self._get(self.url, params)
            if items:
                yield items
            following = at_path(document, paging["next_cursor_path"])
            if not items or following in ENDS or following is False:
                return
            if str(following) in seen:
                raise self._endless("next cursor")
            seen.add(str(following))
            cursor = following

    def _links(self) -> Iterator[list[Any]]:
        paging = self.options.pagination
        url, params = self.url, dict(self.params)
        if paging["size_param"]:
            params[paging["size_param"]] = self.limit
        seen: set[str] = set()
        home = origin(self.base_url)
        while True:
            document, items, answered = self._get(url, params)
            seen.add(answered)
            if items:
                yield items
            link = at_path(document, paging["next_path"])
            if not items or link in ENDS:
                return
            if not isinstance(link, str):
                raise self.client.fail(
                    f"Expected a URL at {paging['next_path']!r} from GET {display(answered)}, "
                    f"got a {type(link).__name__}."
                )
            url, params = urljoin(answered, link), None
            if origin(url) != home:
                raise self.client.fail(
                    f"GET {display(answered)} pointed the next page at {display(url)}, off "
                    f"{home[0]}://{home[1]}:{home[2]} of base_url; refused, so that the "
                    "credentials go nowhere else."
                )
            if url in seen:
                raise self._endless("next link")
