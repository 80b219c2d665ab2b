"""JSON REST APIs: authentication headers per auth type, and a reachability test."""

from __future__ import annotations

import requests

from sync.connectors.errors import ConnectorError, redact

USER_AGENT = "E-QMS-Sync/1.0"
REQUIRED_CREDENTIALS = {
    "none": (),
    "basic": ("username", "password"),
    "bearer": ("token",),
    "api_key_header": ("header", "value"),
    "oauth2_client_credentials": ("token_url", "client_id", "client_secret"),
}


def missing_credentials(auth_type: str, credentials: dict) -> list[str]:
    return [name for name in REQUIRED_CREDENTIALS[auth_type] if not credentials.get(name)]


class RESTConnector:
    def __init__(self, *, base_url: str, auth_type: str, credentials: dict, timeout: int) -> None:
        if not base_url:
            raise ConnectorError("A REST connection needs a base_url.")
        self.base_url = base_url.rstrip("/") + "/"
        self.auth_type = auth_type
        self.credentials = credentials
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})

    def _secrets(self) -> list[str]:
        return [str(v) for v in self.credentials.values() if isinstance(v, str)]

    def _fail(self, text: str) -> ConnectorError:
        return ConnectorError(redact(text, self._secrets()))

    def _authenticate(self) -> None:
        creds = self.credentials
        if self.auth_type == "basic":
            self.session.auth = (creds["username"], creds["password"])
        elif self.auth_type == "bearer":
            self.session.headers["Authorization"] = f"Bearer {creds['token']}"
        elif self.auth_type == "api_key_header":
            self.session.headers[creds["header"]] = creds["value"]
        elif self.auth_type == "oauth2_client_credentials":
            data = {"grant_type": "client_credentials", "client_id": creds["client_id"],
                    "client_secret": creds["client_secret"]}  # fmt: skip
            if creds.get("scope"):
                data["scope"] = creds["scope"]
            try:
                response = requests.post(creds["token_url"], data=data, timeout=self.timeout)
            except requests.RequestException as exc:
                raise self._fail(f"token request failed: {type(exc).__name__}: {exc}") from None
            if response.status_code != 200:
                raise self._fail(f"token endpoint answered HTTP {response.status_code}")
            try:
                token = response.json()["access_token"]
            except (ValueError, KeyError, TypeError):
                raise self._fail("token endpoint gave no access_token") from None
            self.session.headers["Authorization"] = f"Bearer {token}"

    def test(self) -> str:
        """GET the base URL with the configured authentication."""
        self._authenticate()
        try:
            response = self.session.get(self.base_url, timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            raise self._fail(f"{type(exc).__name__}: {exc}") from None
        if response.status_code in (401, 403):
            raise self._fail(f"HTTP {response.status_code}: the credentials were refused")
        if response.status_code >= 400:
            raise self._fail(f"HTTP {response.status_code} from {self.base_url}")
        return f"HTTP {response.status_code} from {self.base_url}"
