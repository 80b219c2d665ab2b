"""A JSON REST API as a connection: authentication per auth type, a reachability test, and
sessions that read and write one resource for the sync engine."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from eqms_integration.http_headers import header_name_problem, header_value_problem
from sync.connectors.base import RemoteSpec
from sync.connectors.errors import ConnectorError, basic_auth_forms, secret_text
from sync.connectors.rest.client import MAX_RESPONSE_BYTES, HttpClient
from sync.connectors.rest.options import RestOptions
from sync.connectors.rest.session import RESTSession

REQUIRED_CREDENTIALS = {
    "none": (),
    "basic": ("username", "password"),
    "bearer": ("token",),
    "api_key_header": ("header", "value"),
    "oauth2_client_credentials": ("token_url", "client_id", "client_secret"),
}


# Credentials that name rather than prove: kept in messages (an error about the token URL says
# which URL). Everything else (password, token, value, client_id, client_secret, …) is removed.
PUBLIC_CREDENTIALS = ("username", "header", "token_url", "scope")


# Credentials sent in a header (basic ones base64-encoded from latin-1, as requests does).
HEADER_CREDENTIALS = {
    "bearer": ("token",),
    "api_key_header": ("value",),
    "basic": ("username", "password"),
}


def missing_credentials(auth_type: str, credentials: dict) -> list[str]:
    return [name for name in REQUIRED_CREDENTIALS[auth_type] if not credentials.get(name)]


def credential_problems(auth_type: str, credentials: dict) -> list[str]:
    """What of the credentials HTTP cannot send, by name and never showing the value: checked
    on save and again before stored credentials are used, so neither gives a server error."""
    problems = []
    for name in HEADER_CREDENTIALS.get(auth_type, ()):
        value = credentials.get(name)
        if value is None or value == "":
            continue  # missing: said by missing_credentials
        if not secret_text(value):
            problems.append(f"{name} must be text")
        elif problem := header_value_problem(str(value), spaces_matter=auth_type != "basic"):
            problems.append(f"{name} {problem}")
    if auth_type == "basic" and ":" in str(credentials.get("username") or ""):
        problems.append("username may not contain ':', which ends the user name in basic auth")
    header = credentials.get("header") if auth_type == "api_key_header" else None
    if header and (problem := header_name_problem(header)):
        problems.append(f"header: {problem}")
    return problems


class RESTConnector:
    def __init__(
        self,
        *,
        base_url: str,
        auth_type: str,
        credentials: dict,
        timeout: int,
        options: dict | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        if not base_url:
            raise ConnectorError("A REST connection needs a base_url.")
        self.base_url = base_url.rstrip("/") + "/"
        self.auth_type = auth_type
        self.credentials = credentials
        self.timeout = timeout
        self.options = options or {}
        self.sleep = sleep  # injectable so that tests of Retry-After need not wait
        self.max_response_bytes = max_response_bytes

    def _secrets(self) -> list[str]:
        """Every credential but those that name things (removed from messages wherever they
        appear; numbers count too)."""
        return [
            text
            for name, value in self.credentials.items()
            if name not in PUBLIC_CREDENTIALS and (text := secret_text(value))
        ]

    def _client(self, headers: dict[str, str] | None = None, auth=None) -> HttpClient:
        return HttpClient(
            timeout=self.timeout,
            secrets=self._secrets(),
            sleep=self.sleep,
            headers=headers,
            auth=auth,
            max_bytes=self.max_response_bytes,
        )

    def _token(self) -> tuple[str, float | None]:
        """A fresh OAuth2 access token, and its lifetime in seconds when the server gives one."""
        creds = self.credentials
        form = {
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        }
        if creds.get("scope"):
            form["scope"] = creds["scope"]
        client = self._client()
        try:
            answer = client.send("POST", creds["token_url"], form=form)
        finally:
            client.close()
        if answer.status != 200:
            raise client.fail(f"The token endpoint answered HTTP {answer.status}.")
        try:
            grant = client.json_of(answer)
            token = grant["access_token"]
        except (ConnectorError, KeyError, TypeError):
            raise client.fail("The token endpoint gave no access_token.") from None
        if not isinstance(token, str) or not token:
            raise client.fail("The token endpoint gave no access_token.")
        if problem := header_value_problem(token):
            raise client.fail(f"The access_token from the token endpoint {problem}.")
        lifetime = grant.get("expires_in")
        if isinstance(lifetime, str) and lifetime.isdigit():
            lifetime = int(lifetime)
        valid = isinstance(lifetime, int | float) and not isinstance(lifetime, bool)
        return token, float(lifetime) if valid and lifetime > 0 else None

    def authenticated_client(self) -> HttpClient:
        """An HTTP client sending this connection's credentials. An OAuth2 token is fetched
        here and again when it is about to expire or the API refuses it (once per request)."""
        creds, headers, auth, secrets = self.credentials, {}, None, []
        problems = credential_problems(self.auth_type, creds)
        if problems:
            raise ConnectorError(
                f"The stored credentials cannot be sent over HTTP: {'; '.join(problems)}. "
                "Save the connection's credentials again."
            )
        if self.auth_type == "basic":
            auth = (str(creds["username"]), str(creds["password"]))
            # An API echoing the Authorization header must not leak the pair either.
            secrets += basic_auth_forms(*auth)
        elif self.auth_type == "bearer":
            headers["Authorization"] = f"Bearer {creds['token']}"
        elif self.auth_type == "api_key_header":
            headers[str(creds["header"])] = str(creds["value"])
        client = self._client(headers, auth)
        client.secrets.extend(secrets)
        if self.auth_type == "oauth2_client_credentials":
            client.use_token(self._token)
        return client

    def test(self) -> str:
        """GET the base URL with the configured authentication."""
        client = self.authenticated_client()
        try:
            answer = client.send("GET", self.base_url, excerpt_only=True)
        finally:
            client.close()
        if not answer.ok:
            raise client.fail(client.problem(answer))
        return f"HTTP {answer.status} from {answer.url}"

    @contextmanager
    def session(self, spec: RemoteSpec) -> Iterator[RESTSession]:
        """An open session on the resource spec.object_name (a path relative to base_url)."""
        options = RestOptions.parse(self.options)
        client = self.authenticated_client()
        try:
            yield RESTSession(client, options, self.base_url, spec)
        finally:
            client.close()
