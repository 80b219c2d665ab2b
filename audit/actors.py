"""Who made a change, as an audit event names it (no I/O, no import of other apps).

    from audit import actors
    actors.user(request.user)          # user, its pk, its username
    actors.api_key(request.auth)       # api_key, the key's pk, "ERP (a1b2c3d4e5f6)"
    actors.sync_run(run)               # sync_run, the run's pk, "<configuration> (run 42)"
    actors.system("nightly import")    # system, "", the name given

The helpers read attributes only (duck typing), so this module depends on no other app.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

USER = "user"
API_KEY = "api_key"
SYNC_RUN = "sync_run"
SYSTEM = "system"
TYPES = (USER, API_KEY, SYNC_RUN, SYSTEM)

ID_MAX, NAME_MAX = 64, 200


@dataclass(frozen=True)
class Actor:
    type: str
    id: str = ""
    name: str = ""

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"Unknown actor type {self.type!r}; one of {', '.join(TYPES)}.")
        # Names come from users and external systems: keep them within their columns.
        object.__setattr__(self, "id", str(self.id)[:ID_MAX])
        object.__setattr__(self, "name", str(self.name)[:NAME_MAX])


def user(user: Any) -> Actor:
    return Actor(USER, str(user.pk), user.get_username())


def api_key(principal: Any) -> Actor:
    """An API key: a verified principal (request.auth) or the key row itself."""
    return Actor(API_KEY, str(principal.id), f"{principal.name} ({principal.key_id})")


def sync_run(run: Any) -> Actor:
    configuration = getattr(run, "configuration", None)
    label = getattr(configuration, "name", "") or "sync"
    return Actor(SYNC_RUN, str(run.pk), f"{label} (run {run.pk})")


def system(name: str = "system", id: str = "") -> Actor:
    return Actor(SYSTEM, id, name)


def from_request(request: Any) -> Actor:
    """The actor of a web request at the moment of asking: an API key (DRF puts the verified
    principal on the HttpRequest as `auth`), else the logged-in user, else anonymous."""
    principal = getattr(request, "auth", None)
    if principal is not None and hasattr(principal, "key_id"):
        return api_key(principal)
    person = getattr(request, "user", None)
    if person is not None and person.is_authenticated and person.pk is not None:
        return user(person)
    return system("anonymous")
