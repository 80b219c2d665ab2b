"""REST connections pass the SSRF guard: internal, metadata and odd URLs are refused on save
(400 naming the field) and before every request of a test, run, preview or conflict
resolution; requests go to the checked address with the host name in Host and TLS; a failed
connection says only that it failed."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from eqms_integration import ssrf
from sync.connectors.base import RemoteSpec
from sync.connectors.errors import ConnectorError
from sync.connectors.rest import RESTConnector
from sync.models import Connection, SyncConflict, SyncRun
from sync.tasks import execute_sync_run
from tests.sync.rest_server import RESOURCE, FakeERP

pytestmark = pytest.mark.django_db
SPEC = RemoteSpec(object_name=RESOURCE[1:], key="id", cursor_field=None, columns=("name",))
OPTIONS = {"items_path": "items", "pagination": {"type": "next_link", "size_param": "limit"}}


@pytest.fixture
def erp() -> Iterator[FakeERP]:
    with FakeERP.running() as server:
        server.add(*({"id": n, "name": f"Gauge {n}", "updated_at": n} for n in range(1, 13)))
        yield server


@pytest.fixture
def dns(monkeypatch) -> dict[str, list[list[str]]]:
    """Answers of the guard's DNS lookups: name -> list of answers, one used per lookup (the
    last repeats). Names not listed do not resolve. Lookups are recorded under "?"."""
    answers: dict[str, list[list[str]]] = {"?": []}

    def resolve(host: str, port: int) -> list[str]:
        answers["?"].append([host])
        queue = answers.get(host)
        if not queue:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return queue.pop(0) if len(queue) > 1 else queue[0]

    monkeypatch.setattr(ssrf, "resolve", resolve)
    return answers


def create(api, **body):
    return api.post(
        "/api/sync/connections/", {"name": "ERP", "kind": "rest", **body}, format="json"
    )


def failure_of(call) -> str:
    with pytest.raises(ConnectorError) as raised:
        call()
    return str(raised.value)


def read_all(connector: RESTConnector) -> list[dict]:
    with connector.session(SPEC) as session:
        return [row for batch in session.batches(after=None, upper=None, size=5) for row in batch]


# On save ---------------------------------------------------------------------------------------

REFUSED = [
    ("http://127.0.0.1:8000/api/", "loopback"),
    ("http://localhost/api/", "loopback"),
    ("http://10.0.0.8/api/", "private"),
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("http://[::ffff:169.254.169.254]/", "cloud metadata"),
    ("http://[64:ff9b::a9fe:a9fe]/", "cloud metadata"),
    ("http://[fd00:ec2::254]/", "cloud metadata"),
    ("http://[::1]:5432/", "loopback"),
    ("http://0x7f000001/", "valid URL"),  # Django's URL check refuses it first
    ("ftp://erp.example.com/items/", "Only http and https"),
    ("ftps://erp.example.com/items/", "Only http and https"),
    ("http://sync:pw@93.184.215.14/api/", "user name or password"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_a_rest_connection_to_an_internal_or_odd_url_is_refused_on_save_naming_base_url(
    admin_api, settings, url, reason
):
    settings.SYNC_ALLOWED_NETWORKS = []  # the default

    response = create(admin_api, base_url=url)

    assert response.status_code == 400, response.json()
    assert reason in " ".join(response.json()["errors"]["base_url"])
    assert not Connection.objects.exists()


def test_the_refusal_names_the_settings_that_allow_an_on_premise_api(admin_api, settings):
    settings.SYNC_ALLOWED_NETWORKS = []

    message = " ".join(
        create(admin_api, base_url="http://10.20.3.4/api/").json()["errors"]["base_url"]
    )

    assert "SYNC_ALLOWED_NETWORKS" in message and "SYNC_ALLOWED_HOSTS" in message
    assert "WEBHOOK_" not in message


def test_an_on_premise_api_the_operator_allows_is_accepted(admin_api, settings, dns):
    settings.SYNC_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    settings.SYNC_ALLOWED_HOSTS = [".plant.local"]
    dns["erp.plant.local"] = [["10.99.0.1"]]

    by_network = create(admin_api, base_url="http://10.20.3.4/api/")
    by_host = create(admin_api, name="MES", base_url="https://erp.plant.local/api/")

    assert by_network.status_code == 201, by_network.json()
    assert by_host.status_code == 201, by_host.json()


def test_the_webhook_allowlist_does_not_open_sync_connections(admin_api, settings):
    settings.SYNC_ALLOWED_NETWORKS = []
    settings.WEBHOOK_ALLOWED_NETWORKS = ["10.0.0.0/8"]

    assert create(admin_api, base_url="http://10.0.0.8/api/").status_code == 400


def test_the_metadata_address_is_refused_whatever_the_sync_allowlist_says(admin_api, settings, dns):
    settings.SYNC_ALLOWED_NETWORKS = ["0.0.0.0/0", "::/0"]
    settings.SYNC_ALLOWED_HOSTS = ["metadata.internal"]
    dns["metadata.internal"] = [["169.254.169.254"]]

    for url in (
        "http://169.254.169.254/",
        "http://metadata.internal/",
        "http://[::ffff:a9fe:a9fe]/",
    ):
        response = create(admin_api, base_url=url)
        assert response.status_code == 400
        assert "cloud metadata address" in " ".join(response.json()["errors"]["base_url"])


def test_an_oauth2_token_url_on_an_internal_address_is_refused_naming_credentials(admin_api, erp):
    response = create(
        admin_api,
        base_url=erp.base_url,
        auth_type="oauth2_client_credentials",
        credentials={
            "token_url": "http://169.254.169.254/token",
            "client_id": "qms",
            "client_secret": "s3cret-value",
        },
    )

    assert response.status_code == 400
    assert "token_url" in " ".join(response.json()["errors"]["credentials"])
    assert "s3cret-value" not in str(response.json())


def test_changing_base_url_to_a_blocked_address_is_refused_and_keeps_the_stored_one(admin_api, erp):
    created = create(admin_api, base_url=erp.base_url).json()

    changed = admin_api.patch(
        f"/api/sync/connections/{created['id']}/",
        {"base_url": "http://169.254.169.254/"},
        format="json",
    )

    assert changed.status_code == 400 and "base_url" in changed.json()["errors"]
    assert Connection.objects.get().base_url == erp.base_url


def test_the_admin_form_shows_the_refusal_next_to_base_url(client, settings):
    from django.contrib.auth import get_user_model

    settings.SYNC_ALLOWED_NETWORKS = []
    get_user_model().objects.create_superuser("boss", password="pw-12345678")
    client.login(username="boss", password="pw-12345678")

    page = client.post(
        "/admin/sync/connection/add/",
        {
            "name": "ERP",
            "kind": "rest",
            "base_url": "http://127.0.0.1:8000/",
            "auth_type": "none",
            "options": "{}",
            "timeout_seconds": "15",
            "credentials": "",
        },
    )

    assert page.status_code == 200
    assert "blocked by the rule" in page.content.decode()
    assert not Connection.objects.exists()


# Before every request ---------------------------------------------------------------------------


@pytest.fixture
def stored(erp, settings):
    """A connection and a configuration saved while the operator allowed 127.0.0.1; then the
    allowlist is emptied (or the row predates the guard), so every later request is refused."""
    from tests.sync.test_rest_engine import configure

    config = configure(erp, sync_direction="bidirectional", conflict_strategy="manual")
    settings.SYNC_ALLOWED_NETWORKS = []
    erp.log.clear()
    return config


def test_testing_a_connection_no_longer_allowed_sends_nothing(admin_api, stored, erp):
    result = admin_api.post(f"/api/sync/connections/{stored.connection_id}/test/").json()

    assert result["ok"] is False and "refused by the SSRF guard" in result["message"]
    assert "SSRF guard" in Connection.objects.get().last_test_message
    assert erp.log == []


def test_a_run_through_the_worker_task_or_the_command_sends_nothing(stored, erp):
    from sync.services.runs import run_request

    run = run_request(config=stored, trigger="api")
    assert execute_sync_run(run.pk) == "failed"
    with pytest.raises(CommandError, match="ended failed"):
        call_command("run_sync", str(stored.pk))

    errors = list(SyncRun.objects.values_list("error", flat=True))
    assert len(errors) == 2 and all("refused by the SSRF guard" in e for e in errors)
    assert erp.log == []


def test_the_delta_preview_sends_nothing(admin_api, stored, erp):
    response = admin_api.get(f"/api/sync/configurations/{stored.pk}/delta/")

    assert response.status_code == 400
    assert "SSRF guard" in " ".join(response.json()["errors"]["connection"])
    assert erp.log == []


def test_resolving_a_conflict_sends_nothing_and_changes_nothing(admin_api, stored, erp):
    conflict = SyncConflict.objects.create(
        configuration=stored,
        external_id="EQ-1",
        source_hash="a",
        target_hash="b",
        strategy="manual",
        source_values={"name": "ERP name", "location": "Hall 1"},
        target_values={"name": "QMS name", "location": "Hall 1"},
    )

    response = admin_api.post(
        f"/api/sync/conflicts/{conflict.pk}/resolve/",
        {"resolution": "source_wins", "reason": "ERP owns names"},
        format="json",
    )

    assert response.status_code == 502 and "SSRF guard" in response.json()["message"]
    assert SyncConflict.objects.get().status == "pending"
    assert erp.log == []


def test_a_stored_token_url_on_the_metadata_address_is_never_requested(erp):
    connector = RESTConnector(
        base_url=erp.base_url,
        auth_type="oauth2_client_credentials",
        timeout=2,
        credentials={
            "token_url": "http://169.254.169.254/latest/api/token",
            "client_id": "q",
            "client_secret": "s",
        },
    )

    message = failure_of(lambda: read_all(connector))

    assert "SSRF guard" in message and "cloud metadata" in message
    assert erp.log == []


# The address connected to -----------------------------------------------------------------------


def test_a_request_goes_to_the_checked_address_with_the_name_in_host_and_one_lookup(erp, dns):
    """DNS rebinding: the name is resolved once per request, by the guard; `erp.test` exists in
    no real DNS, so the request can only have reached the server through the checked address."""
    dns["erp.test"] = [["127.0.0.1"], ["169.254.169.254"]]
    connector = RESTConnector(
        base_url=f"http://erp.test:{erp.port}/",
        auth_type="none",
        credentials={},
        timeout=5,
        options={"items_path": "items"},
    )

    rows = read_all(connector)

    assert len(rows) == 12
    assert dns["?"] == [["erp.test"]]
    assert erp.log[0].headers["Host"] == f"erp.test:{erp.port}"


def test_a_next_link_whose_host_now_resolves_elsewhere_is_refused_before_it_is_sent(erp, dns):
    erp.pagination, erp.link_base = "next_link", f"http://erp.test:{erp.port}"
    dns["erp.test"] = [["127.0.0.1"], ["10.1.2.3"]]
    connector = RESTConnector(
        base_url=f"http://erp.test:{erp.port}/",
        auth_type="none",
        credentials={},
        timeout=5,
        options=OPTIONS,
    )

    message = failure_of(lambda: read_all(connector))

    assert "refused by the SSRF guard" in message and "10.1.2.3" in message
    assert len(erp.log) == 1  # the first page only


def test_a_proxy_in_the_environment_is_not_used(erp, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://10.9.9.9:3128")
    monkeypatch.setenv("http_proxy", "http://10.9.9.9:3128")
    connector = RESTConnector(
        base_url=erp.base_url,
        auth_type="none",
        credentials={},
        timeout=2,
        options={"items_path": "items"},
    )

    assert len(read_all(connector)) == 12


# TLS to the checked address -------------------------------------------------------------------


def _certificates(folder: Path, host: str) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for `host` signed by it: (ca, cert, key) files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def make(subject: str, key, issuer: str, issuer_key, *, ca: bool):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
            )
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = make("Test CA", ca_key, "Test CA", ca_key, ca=True)
    cert = make(host, key, "Test CA", ca_key, ca=False)
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture
def tls_erp(tmp_path, monkeypatch) -> Iterator[FakeERP]:
    ca, cert, key = _certificates(tmp_path, "erp.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    # Trust the test CA the way requests trusts certifi's bundle.
    monkeypatch.setattr("requests.adapters.DEFAULT_CA_BUNDLE_PATH", str(ca))
    with FakeERP.running(tls=context) as server:
        server.add({"id": 1, "name": "Gauge 1"})
        yield server


def test_tls_to_the_checked_address_verifies_the_certificate_for_the_host_name(tls_erp, dns):
    dns["erp.test"] = [["127.0.0.1"]]
    dns["other.test"] = [["127.0.0.1"]]

    def tested(host: str) -> str:
        return RESTConnector(
            base_url=f"https://{host}:{tls_erp.port}{RESOURCE}",
            auth_type="none",
            credentials={},
            timeout=5,
        ).test()

    assert tested("erp.test") == f"HTTP 200 from https://erp.test:{tls_erp.port}{RESOURCE}/"
    assert tls_erp.log[0].headers["Host"] == f"erp.test:{tls_erp.port}"
    for host in ("other.test", "127.0.0.1"):
        message = failure_of(lambda host=host: tested(host))
        assert message.endswith("the server's TLS certificate is not valid for this host.")
    assert len(tls_erp.log) == 1


# One answer for every failed connection ---------------------------------------------------------


@pytest.fixture
def not_http_port() -> Iterator[int]:
    """A port that accepts connections, says something that is not HTTP, and hangs up."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def test_closed_filtered_and_non_http_ports_fail_with_the_same_message(
    unanswered_port, not_http_port
):
    closed = socket.create_server(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()

    def message(port: int) -> str:
        connector = RESTConnector(
            base_url=f"http://127.0.0.1:{port}/", auth_type="none", credentials={}, timeout=1
        )
        return failure_of(connector.test).replace(str(port), "PORT")

    answers = {message(port) for port in (closed_port, unanswered_port, not_http_port)}

    assert answers == {"GET http://127.0.0.1:PORT/ failed: could not connect to 127.0.0.1:PORT."}
