"""REST APIs as the remote side of a sync configuration, against a fake ERP on 127.0.0.1:
every pagination style, delta reads with keyset filtering, fetch, writes, authentication,
and an API that misbehaves (redirects, off-host links, rate limits, huge or broken answers,
endless pagers) failing clearly and without leaking credentials."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

import pytest

from sync.connectors.base import RemoteSpec, WriteFailure
from sync.connectors.errors import ConnectorError
from sync.connectors.factory import connector_for
from sync.connectors.rest import RESTConnector, rest_options_errors
from sync.connectors.rest.client import retry_wait
from sync.models import Connection
from tests.sync.rest_server import RESOURCE, TOKEN_PATH, FakeERP, Reply

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
ALL = list(range(1, 24))
SPEC = RemoteSpec(
    object_name="api/v1/equipment",
    key="id",
    cursor_field="updated_at",
    columns=("id", "name", "address.city", "updated_at"),
)
PAGINATIONS = {
    "none": {"type": "none"},
    "page": {"type": "page"},
    "offset": {"type": "offset"},
    "cursor": {"type": "cursor", "size_param": "limit"},
    "next_link": {"type": "next_link", "size_param": "limit"},
}


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def item(number: int) -> dict:
    # Cursors repeat (four distinct hours), so equal cursors span pages.
    return {
        "id": number,
        "name": f"Gauge {number}",
        "address": {"city": "Lyon" if number % 2 else "Graz", "street": f"Rue {number}"},
        "updated_at": (T0 + timedelta(hours=number % 4)).isoformat().replace("+00:00", "Z"),
    }


@pytest.fixture
def erp() -> Iterator[FakeERP]:
    with FakeERP.running() as server:
        # Stored out of cursor and key order: APIs promise no order.
        server.add(*(item((n * 7) % 23 + 1) for n in range(23)))
        yield server


def connect(erp: FakeERP, *, sleeps: list | None = None, **kwargs) -> RESTConnector:
    settings = {"auth_type": "none", "credentials": {}, "timeout": 5, "options": {}, **kwargs}
    sleep = sleeps.append if sleeps is not None else (lambda seconds: None)
    return RESTConnector(base_url=erp.base_url, sleep=sleep, **settings)


def read(connector: RESTConnector, *, after=None, size: int = 100, spec=SPEC) -> list[dict]:
    with connector.session(spec) as session:
        return [
            row for batch in session.batches(after=after, upper=None, size=size) for row in batch
        ]


def ids(rows: list[dict]) -> list[int]:
    return sorted(row["id"] for row in rows)


def failure_of(call) -> str:
    with pytest.raises(ConnectorError) as raised:
        call()
    return str(raised.value)


# Reading --------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", PAGINATIONS)
def test_every_pagination_style_reads_every_item_exactly_once(erp, style):
    erp.pagination = style
    # The server caps pages at 5 although 7 are asked for: the first page looks short and is not.
    connector = connect(
        erp, options={"items_path": "items", "pagination": PAGINATIONS[style], "page_size": 7}
    )

    rows = read(connector)

    assert ids(rows) == ALL and len(rows) == 23
    # 5 + 5 + 5 + 5 + 3: the short last page (or the missing next cursor/link) ends the read.
    assert len(erp.requests()) == (1 if style == "none" else 5)


def test_a_listing_that_ends_on_a_full_page_stops_at_the_following_empty_page(erp):
    erp.pagination = "offset"
    erp.items = {key: value for key, value in erp.items.items() if int(key) <= 10}
    connector = connect(erp, options={"items_path": "items", "pagination": {"type": "offset"}})

    rows = read(connector)

    assert ids(rows) == list(range(1, 11))
    assert [seen.query["offset"] for seen in erp.requests()] == ["0", "5", "10"]


@pytest.mark.parametrize(
    ("envelope", "items_path"), [("data.results", "data.results"), ("", ""), ("items", "items")]
)
def test_the_list_is_found_where_items_path_says_or_is_the_whole_answer(erp, envelope, items_path):
    erp.envelope = envelope

    rows = read(connect(erp, options={"items_path": items_path}))

    assert ids(rows) == ALL


def test_next_links_may_be_absolute_urls_on_the_same_origin(erp):
    erp.pagination, erp.link_base = "next_link", f"http://127.0.0.1:{erp.port}"
    options = {"items_path": "items", "pagination": {"type": "next_link"}}

    assert ids(read(connect(erp, options=options))) == ALL


def test_pages_larger_than_the_batch_size_are_split_and_rows_carry_dotted_fields(erp):
    connector = connect(erp, options={"items_path": "items"})

    with connector.session(SPEC) as session:
        batches = list(session.batches(after=None, upper=None, size=10))

    assert [len(batch) for batch in batches] == [10, 10, 3]
    first = batches[0][0]
    assert set(first) == {"id", "name", "address.city", "updated_at"}
    assert first["address.city"] == ("Lyon" if first["id"] % 2 else "Graz")


def test_fields_missing_from_an_item_are_none(erp):
    erp.add({"id": 99, "updated_at": "2024-03-01T08:00:00Z"})
    rows = read(connect(erp, options={"items_path": "items"}))

    assert next(row for row in rows if row["id"] == 99) == {
        "id": 99,
        "name": None,
        "address.city": None,
        "updated_at": "2024-03-01T08:00:00Z",
    }


def test_a_rest_session_is_unordered_with_no_upper_bound_and_counts_only_when_told_how(erp):
    with connect(erp, options={"items_path": "items"}).session(SPEC) as session:
        assert session.ordered is False
        assert session.upper_bound() is None
        assert session.count(after=None, upper=None) is None
    counted = connect(erp, options={"items_path": "items", "count_path": "total"})
    with counted.session(SPEC) as session:
        assert session.count(after=None, upper=None) == 23


# Delta reads ----------------------------------------------------------------------------------

STORED = [
    T0 + timedelta(hours=2),  # a datetime, as the engine may decode it
    "2024-03-01T10:00:00Z",  # the item's own text
    "2024-03-01T11:00:00+01:00",  # the same instant, written differently
]


@pytest.mark.parametrize("stored", STORED)
@pytest.mark.parametrize("delta_param", ["updated_since", None])
def test_a_delta_read_skips_what_the_last_run_saw_even_with_equal_cursors_across_pages(
    erp, stored, delta_param
):
    erp.pagination = "page"
    options = {"items_path": "items", "pagination": {"type": "page"}}
    if delta_param:
        options["delta_param"] = delta_param

    rows = read(connect(erp, options=options), after=(stored, 10))

    # (hour, id) > (2, 10): every item of hour 3, and those of hour 2 after id 10.
    assert ids(rows) == [n for n in ALL if (n % 4, n) > (2, 10)]
    sent = {seen.query.get("updated_since") for seen in erp.requests()}
    if delta_param is None:
        assert sent == {None}
    elif isinstance(stored, datetime):
        assert sent == {"2024-03-01T10:00:00+00:00"}
    else:
        assert sent == {stored}


def test_numeric_cursors_compare_as_numbers_and_keys_as_the_same_type(erp):
    erp.items, erp.cursor = {}, "version"
    erp.add(*({"id": n, "version": n // 3} for n in (9, 2, 7, 4, 1, 8, 5, 3, 6, 10, 11, 12)))
    spec = RemoteSpec("api/v1/equipment", "id", "version", ("id", "version"))
    options = {"items_path": "items", "delta_param": "updated_since"}

    rows = read(connect(erp, options=options), after=(Decimal(2), "7"), spec=spec)

    assert ids(rows) == [8, 9, 10, 11, 12]  # versions 2 (ids 6, 7, 8): after 7 only; then 3, 4


def test_a_cursor_that_cannot_be_compared_fails_the_read_naming_the_item(erp):
    erp.add({"id": 50, "name": "odd", "updated_at": "yesterday"})
    connector = connect(erp, options={"items_path": "items"})

    message = failure_of(lambda: read(connector, after=(T0, 1)))

    assert "Item '50'" in message and "updated_at" in message


# Fetching -------------------------------------------------------------------------------------


def test_fetch_gets_each_id_url_quoted_and_leaves_out_those_that_are_404(erp):
    erp.add({"id": "a/b c", "name": "odd id", "updated_at": "2024-03-01T08:00:00Z"})
    connector = connect(erp, options={"items_path": "items"})

    with connector.session(SPEC) as session:
        found = session.fetch(["3", "404", "a/b c"])

    assert set(found) == {"3", "a/b c"}
    assert found["3"]["name"] == "Gauge 3" and found["3"]["address.city"] == "Lyon"
    assert [seen.path for seen in erp.log] == [
        f"{RESOURCE}/3",
        f"{RESOURCE}/404",
        f"{RESOURCE}/a%2Fb%20c",
    ]


def test_fetch_finds_the_object_at_item_path(erp):
    erp.item_envelope = "data"
    connector = connect(erp, options={"item_path": "data"})

    with connector.session(SPEC) as session:
        assert session.fetch(["5"])["5"]["name"] == "Gauge 5"


def test_fetch_with_an_ids_parameter_asks_for_a_chunk_of_ids_per_request(erp):
    options = {"items_path": "items", "fetch_param": "ids", "fetch_batch_size": 2}

    with connect(erp, options=options).session(SPEC) as session:
        found = session.fetch(["1", "2", "3", "999"])

    assert set(found) == {"1", "2", "3"} and found["2"]["name"] == "Gauge 2"
    assert [seen.query["ids"] for seen in erp.requests()] == ["1,2", "3,999"]


# Writing --------------------------------------------------------------------------------------


def test_upsert_puts_each_row_and_a_refused_row_fails_alone_without_the_token(erp):
    erp.auth = ("bearer", "tok-SECRET-123")
    connector = connect(erp, auth_type="bearer", credentials={"token": "tok-SECRET-123"})
    rows = [
        {
            "id": 1,
            "name": "Renamed",
            "address.city": "Wien",
            "serviced": date(2024, 5, 1),
            "checked_at": datetime(2024, 5, 1, 9, 30, tzinfo=UTC),
            "tolerance": Decimal("0.0125"),
            "tag": b"\x01\xff",
        },
        {"id": 2, "name": ""},
        {"id": 77, "name": "New gauge"},
    ]

    with connector.session(SPEC) as session:
        failures = session.upsert(rows)

    assert [f.external_id for f in failures] == ["2"]
    assert "HTTP 422" in failures[0].message and "name must not be empty" in failures[0].message
    assert "tok-SECRET-123" not in failures[0].message and "***" in failures[0].message
    assert erp.items["1"] == {
        "id": 1,
        "name": "Renamed",
        "address": {"city": "Wien"},
        "serviced": "2024-05-01",
        "checked_at": "2024-05-01T09:30:00+00:00",
        "tolerance": "0.0125",
        "tag": "01ff",
    }
    assert erp.items["77"]["name"] == "New gauge" and erp.items["2"]["name"] == "Gauge 2"
    assert [seen.path for seen in erp.requests("PUT", f"{RESOURCE}/1")] == [f"{RESOURCE}/1"]


def test_upsert_with_post_sends_the_object_to_the_collection(erp):
    connector = connect(erp, options={"write_method": "post"})

    with connector.session(SPEC) as session:
        failures = session.upsert([{"id": 3, "name": "Posted"}, {"id": 80, "name": "Fresh"}])

    assert failures == []
    assert len(erp.requests("POST")) == 2
    assert erp.items["3"] == {"id": 3, "name": "Posted"} and erp.items["80"]["name"] == "Fresh"


def test_upsert_with_patch_changes_only_the_fields_sent(erp):
    connector = connect(erp, options={"write_method": "patch"})

    with connector.session(SPEC) as session:
        failures = session.upsert([{"id": 4, "address.city": "Oslo"}, {"id": 404, "name": "x"}])

    assert erp.items["4"]["address"] == {"city": "Oslo", "street": "Rue 4"}
    assert erp.items["4"]["name"] == "Gauge 4"
    assert failures == [WriteFailure("404", failures[0].message)]
    assert "HTTP 404" in failures[0].message


def test_a_row_that_cannot_be_written_as_json_or_has_no_key_fails_alone(erp):
    with connect(erp).session(SPEC) as session:
        failures = session.upsert(
            [{"id": 5, "name": object()}, {"name": "keyless"}, {"id": 6, "name": "Fine"}]
        )

    assert [(f.external_id, f.message.split(":")[0]) for f in failures] == [
        ("5", "Not sent"),
        ("", "The row has no 'id' (the key field)."),
    ]
    assert erp.items["6"]["name"] == "Fine"


def test_a_network_error_while_writing_is_a_row_failure_not_a_crash():
    connector = RESTConnector(
        base_url="http://127.0.0.1:9/", auth_type="none", credentials={}, timeout=2
    )

    with connector.session(SPEC) as session:
        failures = session.upsert([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])

    assert [f.external_id for f in failures] == ["1", "2"]
    assert all(f.message.endswith("could not connect to 127.0.0.1:9.") for f in failures)


# Authentication -------------------------------------------------------------------------------

AUTH = {
    "bearer": (("bearer", "b-TOKEN-42"), {"token": "b-TOKEN-42"}, {"token": "b-WRONG-42"}),
    "basic": (
        ("basic", "sync", "pw-S3CRET"),
        {"username": "sync", "password": "pw-S3CRET"},
        {"username": "sync", "password": "pw-WRONG1"},
    ),
    "api_key_header": (
        ("header", "X-Api-Key", "k-S3CRET"),
        {"header": "X-Api-Key", "value": "k-S3CRET"},
        {"header": "X-Api-Key", "value": "k-WRONG1"},
    ),
}


@pytest.mark.parametrize("auth_type", AUTH)
def test_each_auth_type_reads_and_a_refusal_says_so_without_the_secret(erp, auth_type):
    server_auth, good, bad = AUTH[auth_type]
    erp.auth = server_auth
    options = {"items_path": "items"}

    rows = read(connect(erp, auth_type=auth_type, credentials=good, options=options))
    message = failure_of(
        lambda: read(connect(erp, auth_type=auth_type, credentials=bad, options=options))
    )

    assert ids(rows) == ALL
    assert "HTTP 401" in message and "credentials were refused" in message
    assert not any(
        secret in message
        for secret in (*good.values(), *bad.values())
        if secret not in ("sync", "X-Api-Key")
    )


def test_oauth2_fetches_one_token_per_session_and_uses_it_for_every_request(erp):
    erp.auth, erp.pagination = ("oauth2", "qms", "cl-S3CRET"), "page"
    credentials = {
        "token_url": f"{erp.base_url}oauth/token",
        "client_id": "qms",
        "client_secret": "cl-S3CRET",
    }
    options = {"items_path": "items", "pagination": {"type": "page"}}

    with connect(
        erp, auth_type="oauth2_client_credentials", credentials=credentials, options=options
    ).session(SPEC) as session:
        rows = [row for batch in session.batches(after=None, upper=None, size=50) for row in batch]
        fetched = session.fetch(["7"])
        failures = session.upsert([{"id": 7, "name": "Seven"}])

    assert ids(rows) == ALL and set(fetched) == {"7"} and failures == []
    assert erp.tokens == ["tok-1"]
    assert {s.headers["Authorization"] for s in erp.log if s.path != TOKEN_PATH} == {"Bearer tok-1"}


def oauth2_session(erp: FakeERP):
    erp.auth, erp.pagination = ("oauth2", "qms", "cl-S3CRET"), "page"
    credentials = {
        "token_url": f"{erp.base_url}oauth/token",
        "client_id": "qms",
        "client_secret": "cl-S3CRET",
    }
    options = {"items_path": "items", "pagination": {"type": "page"}}
    return connect(
        erp, auth_type="oauth2_client_credentials", credentials=credentials, options=options
    ).session(SPEC)


def test_an_oauth2_token_the_api_stops_accepting_mid_run_is_replaced_and_the_read_goes_on(erp):
    with oauth2_session(erp) as session:
        pages = session.batches(after=None, upper=None, size=5)
        first = next(pages)
        erp.revoked.add("tok-1")  # expired early, or revoked, at the server
        rest = [row for batch in pages for row in batch]

    assert ids(first + rest) == ALL
    assert erp.tokens == ["tok-1", "tok-2"]
    refused = [s for s in erp.log if s.headers.get("Authorization") == "Bearer tok-1"]
    assert len(refused) == 2  # the first page, then the one refused and sent again


def test_an_oauth2_token_is_renewed_before_its_lifetime_ends(erp):
    erp.token_lifetime = 1  # seconds: renewed after half of it at the latest
    with oauth2_session(erp) as session:
        pages = session.batches(after=None, upper=None, size=5)
        first = next(pages)
        time.sleep(0.6)
        rest = [row for batch in pages for row in batch]

    assert ids(first + rest) == ALL
    assert erp.tokens == ["tok-1", "tok-2"]
    listings = [s.headers["Authorization"] for s in erp.requests("GET")]
    assert listings[0] == "Bearer tok-1" and set(listings[1:]) == {"Bearer tok-2"}


def test_a_refused_oauth2_client_is_reported_without_its_secret(erp):
    erp.auth = ("oauth2", "qms", "cl-S3CRET")
    credentials = {
        "token_url": f"{erp.base_url}oauth/token",
        "client_id": "qms",
        "client_secret": "cl-WRONG-S3CRET",
    }
    connector = connect(erp, auth_type="oauth2_client_credentials", credentials=credentials)

    message = failure_of(lambda: connector.session(SPEC).__enter__())

    assert "token endpoint answered HTTP 401" in message and "cl-WRONG" not in message


def test_the_connection_test_still_authenticates_and_reports_a_refusal(erp):
    erp.auth = ("bearer", "b-TOKEN-42")
    url = f"{erp.base_url}api/v1/equipment"

    def tested(token: str) -> str:
        return RESTConnector(
            base_url=url, auth_type="bearer", credentials={"token": token}, timeout=5
        ).test()

    assert tested("b-TOKEN-42") == f"HTTP 200 from {url}/"
    message = failure_of(lambda: tested("b-WRONG-42"))
    assert "credentials were refused" in message and "b-WRONG-42" not in message


# An API that misbehaves -----------------------------------------------------------------------


def test_a_redirect_is_not_followed_and_fails_the_read(erp):
    erp.auth = ("bearer", "b-TOKEN-42")
    erp.reply(RESOURCE, Reply(302, headers={"Location": "http://collector.example/steal"}))
    connector = connect(erp, auth_type="bearer", credentials={"token": "b-TOKEN-42"})

    message = failure_of(lambda: read(connector))

    assert "HTTP 302" in message and "redirects are not followed" in message
    assert len(erp.log) == 1


@pytest.mark.parametrize(
    "link_base",
    [
        "http://localhost:{port}",
        "https://127.0.0.1:{port}",
        "http://127.0.0.2:{port}",
        "http://127.0.0.1:{other}",
        "//collector.example",
    ],
)
def test_a_next_link_off_the_base_url_origin_is_refused_before_it_is_requested(erp, link_base):
    erp.auth = ("bearer", "b-TOKEN-42")
    erp.pagination = "next_link"
    erp.link_base = link_base.format(port=erp.port, other=erp.port + 1)
    options = {"items_path": "items", "pagination": {"type": "next_link"}}
    connector = connect(
        erp, auth_type="bearer", credentials={"token": "b-TOKEN-42"}, options=options
    )

    message = failure_of(lambda: read(connector))

    assert "refused, so that the credentials go nowhere else" in message
    assert "b-TOKEN-42" not in message and len(erp.log) == 1


def test_retry_after_is_honoured_for_429_and_503_with_the_injected_sleep(erp):
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    erp.reply(
        RESOURCE,
        Reply(429, headers={"Retry-After": "2"}),
        Reply(503, headers={"Retry-After": when}),
    )
    sleeps: list[float] = []

    rows = read(connect(erp, sleeps=sleeps, options={"items_path": "items"}))

    assert ids(rows) == ALL
    assert sleeps[0] == 2 and 25 < sleeps[1] <= 30 and len(sleeps) == 2


def test_a_server_that_stays_rate_limited_fails_after_three_retries(erp):
    erp.reply(RESOURCE, *[Reply(429, {"error": "slow down"}) for _ in range(4)])
    sleeps: list[float] = []

    message = failure_of(lambda: read(connect(erp, sleeps=sleeps)))

    assert sleeps == [1, 2, 4]  # no Retry-After: a short backoff
    assert "HTTP 429" in message and "after 3 retries" in message


def test_a_retry_after_longer_than_a_minute_fails_at_once_rather_than_retrying_early(erp):
    erp.reply(RESOURCE, Reply(503, headers={"Retry-After": "3600"}))
    sleeps: list[float] = []

    message = failure_of(lambda: read(connect(erp, sleeps=sleeps)))

    assert sleeps == [] and "retry after 3600 s" in message


def test_a_date_in_retry_after_is_the_time_left_until_then():
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)

    assert 15 < retry_wait(soon, 0) <= 20
    assert retry_wait("Wed, 21 Oct 2015 07:28:00 GMT", 0) == 0
    assert retry_wait("soon", 2) == 4


@pytest.mark.parametrize("declared", [True, False])
def test_an_answer_over_10_mb_is_refused(erp, declared):
    huge = 11 * 1024 * 1024
    reply = Reply(body=b" " * huge + b"[]") if declared else Reply(body=b"[]", filler_bytes=huge)
    erp.reply(RESOURCE, reply)

    message = failure_of(lambda: read(connect(erp)))

    assert "larger than 10 MB" in message


def test_a_server_slower_than_the_timeout_fails_the_read(erp):
    erp.reply(RESOURCE, Reply(body=[], delay=3))

    message = failure_of(lambda: read(connect(erp, timeout=1)))

    assert "ReadTimeout" in message or "timed out" in message


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            Reply(body=b"<html>Maintenance</html>", headers={"Content-Type": "text/html"}),
            "Expected JSON from GET",
        ),
        (Reply(body={"items": {"id": 1}}), "Expected a JSON list of items at 'items'"),
        (Reply(body={"results": []}), "got nothing; check the connection's items_path"),
        (Reply(body={"items": [1, 2]}), "Expected JSON objects as items"),
        (Reply(body={"items": [{"name": "keyless"}]}), "has no 'id' (the key field)"),
        (Reply(500, {"error": "database is down"}), 'HTTP 500: {"error": "database is down"}'),
        (Reply(403, {"error": "forbidden"}), "HTTP 403: the credentials were refused"),
        (Reply(body=b"[" * 100_000 + b"]" * 100_000), "is nested deeper than 64 levels"),
        (Reply(body=[{"id": 1, "name": nested(70)}]), "is nested deeper than 64 levels"),
    ],
)
def test_a_malformed_or_failed_answer_is_a_clear_connector_error(erp, reply, expected):
    erp.reply(RESOURCE, reply)

    assert expected in failure_of(lambda: read(connect(erp, options={"items_path": "items"})))


@pytest.mark.parametrize(
    ("style", "endless", "expected"),
    [
        ("page", "same", "same page twice"),
        ("offset", "same", "same page twice"),
        ("cursor", "same", "same next cursor twice"),
        ("next_link", "same", "same next link twice"),
        ("cursor", "new", "Stopped after 6 pages"),
        ("next_link", "new", "Stopped after 6 pages"),
    ],
)
def test_a_pager_that_never_ends_is_stopped(erp, style, endless, expected):
    erp.pagination, erp.endless = style, endless
    options = {"items_path": "items", "pagination": PAGINATIONS[style], "max_pages": 6}

    message = failure_of(lambda: read(connect(erp, options=options)))

    assert expected in message
    assert len(erp.requests()) <= 6


@pytest.mark.parametrize("path", ["/api/v1/equipment", "../admin", "api/../../x", "", "http://x/y"])
def test_a_resource_path_must_stay_under_the_base_url(erp, path):
    spec = RemoteSpec(path, "id", None, ("id",))

    message = failure_of(lambda: connect(erp).session(spec).__enter__())

    assert "relative to base_url" in message and erp.log == []


# Options, through the connection --------------------------------------------------------------


@pytest.mark.django_db
def test_a_stored_connection_passes_its_options_to_its_sessions(erp):
    erp.pagination, erp.envelope = "cursor", "data.results"
    connection = Connection.objects.create(
        name="ERP",
        kind="rest",
        base_url=erp.base_url,
        timeout_seconds=5,
        options={
            "items_path": "data.results",
            "pagination": {"type": "cursor", "size_param": "limit"},
        },
    )

    assert ids(read(connector_for(connection))) == ALL


@pytest.mark.django_db
def test_a_connection_stored_with_bad_options_fails_its_sessions_clearly(erp):
    connection = Connection.objects.create(
        name="ERP", kind="rest", base_url=erp.base_url, options={"pagination": {"type": "pages"}}
    )

    message = failure_of(lambda: connector_for(connection).session(SPEC).__enter__())

    assert "options are invalid" in message and "'pages' is unknown" in message


BAD_OPTIONS = [
    ({"pagination": {"type": "pages"}}, "pagination type 'pages' is unknown"),
    ({"pagination": {}}, "pagination needs a type"),
    ({"pagination": "page"}, "pagination must be an object"),
    ({"pagination": {"type": "cursor", "cursor_param": ""}}, "cursor_param must be a non-empty"),
    ({"pagination": {"type": "offset", "page_param": "p"}}, "'offset' takes no 'page_param'"),
    ({"pagination": {"type": "next_link", "next_path": "a..b"}}, "has an empty segment"),
    ({"pagination": {"type": "page", "first_page": "1"}}, "first_page must be an integer"),
    ({"pagination": {"type": "page"}, "delta_param": "page"}, "are both 'page'"),
    ({"page_size": "50"}, "page_size must be an integer from 1 to 10,000"),
    ({"max_pages": 0}, "max_pages must be an integer"),
    ({"write_method": "delete"}, "write_method 'delete' is not one of put, post, patch"),
    ({"items_path": 3}, "items_path must be a dotted path"),
    ({"itemspath": "items"}, "unknown option 'itemspath'"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("options", "reason"), BAD_OPTIONS)
def test_a_rest_connection_with_bad_options_is_a_400_naming_options(admin_api, options, reason):
    response = admin_api.post(
        "/api/sync/connections/",
        {"name": "ERP", "kind": "rest", "base_url": "http://erp.example/", "options": options},
        format="json",
    )

    assert response.status_code == 400, response.json()
    assert reason in str(response.json()["errors"]["options"])
    assert not Connection.objects.exists()


@pytest.mark.django_db
def test_good_options_are_accepted_and_a_patch_to_bad_ones_is_refused(admin_api):
    options = {
        "items_path": "data.results",
        "pagination": {"type": "page", "size_param": None},
        "delta_param": "updated_since",
        "fetch_param": "ids",
        "write_method": "patch",
        "count_path": "meta.total",
        "max_pages": 500,
        "page_size": 200,
    }
    created = admin_api.post(
        "/api/sync/connections/",
        {"name": "ERP", "kind": "rest", "base_url": "http://127.0.0.1:9/", "options": options},
        format="json",
    )
    patched = admin_api.patch(
        f"/api/sync/connections/{created.json()['id']}/",
        {"options": {"write_method": "DELETE"}},
        format="json",
    )

    assert created.status_code == 201, created.json()
    assert patched.status_code == 400 and "options" in patched.json()["errors"]
    assert rest_options_errors({}) == [] and rest_options_errors(options) == []


def test_an_api_echoing_the_basic_authorization_header_does_not_leak_the_encoded_pair(erp):
    erp.auth = ("basic", "sync", "pw-S3CRET")
    connector = connect(
        erp, auth_type="basic", credentials={"username": "sync", "password": "pw-S3CRET"}
    )

    with connector.session(SPEC) as session:
        (failure,) = session.upsert([{"id": 1, "name": ""}])

    assert "HTTP 422" in failure.message and "Basic ***" in failure.message
    assert "c3luYzpwdy1TM0NSRVQ" not in failure.message


@pytest.mark.parametrize("token", ["tok\r\nX-Admin: 1", "tök☃"])
def test_an_access_token_http_cannot_send_fails_the_session_clearly(erp, token):
    erp.reply(TOKEN_PATH, Reply(200, {"access_token": token, "token_type": "Bearer"}))
    credentials = {
        "token_url": f"{erp.base_url}oauth/token",
        "client_id": "qms",
        "client_secret": "cl-S3CRET",
    }
    connector = connect(erp, auth_type="oauth2_client_credentials", credentials=credentials)

    message = failure_of(lambda: connector.session(SPEC).__enter__())

    assert message.startswith("The access_token from the token endpoint holds")
    assert "X-Admin" not in message and "tök" not in message
    assert erp.requests() == []  # the API itself was never called with it
