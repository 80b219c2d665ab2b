"""JSON REST APIs: authentication per auth type, a reachability test, and sessions that read
and write one resource for the sync engine, configured by the connection's options."""

from sync.connectors.rest.client import USER_AGENT
from sync.connectors.rest.connector import (
    REQUIRED_CREDENTIALS,
    RESTConnector,
    credential_problems,
    missing_credentials,
)
from sync.connectors.rest.options import RestOptions, rest_options_errors
from sync.connectors.rest.session import RESTSession

__all__ = [
    "REQUIRED_CREDENTIALS",
    "USER_AGENT",
    "RESTConnector",
    "RESTSession",
    "RestOptions",
    "credential_problems",
    "missing_credentials",
    "rest_options_errors",
]
