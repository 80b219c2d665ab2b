"""Secrets shown once in the admin (API keys created or rotated, webhook secrets) by
POST/redirect/GET: the POST keeps the secret in the session, encrypted, under a random token
and redirects; the page of that token shows it and removes it, so a reload, the back button
or a second tab shows nothing and creates nothing."""

from __future__ import annotations

import secrets
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

from eqms_integration import encryption

SESSION_KEY = "eqms_shown_once"
KEPT = 10  # pages not opened yet per session; older ones are dropped
TEMPLATE = "admin/shown_once.html"


class ShownOnce(str):
    """A secret on its way to the page that shows it: rendered as itself, but its repr (what
    debug logs and error reports print of a template context) never carries it."""

    def __repr__(self) -> str:
        return "'[secret, shown once]'"


def stash(request: HttpRequest, items: list[dict[str, Any]]) -> str:
    """Keep items (each with a "secret"; the rest is shown beside it and must be JSON) for
    the page that shows them once; returns that page's token."""
    token = secrets.token_urlsafe(16)
    kept = dict(request.session.get(SESSION_KEY, {}))
    kept[token] = [{**item, "secret": encryption.encrypt(item["secret"])} for item in items]
    request.session[SESSION_KEY] = dict(list(kept.items())[-KEPT:])
    return token


def take(request: HttpRequest, token: str) -> list[dict[str, Any]] | None:
    """The items of a token, removed from the session; None once they have been shown."""
    kept = dict(request.session.get(SESSION_KEY, {}))
    items = kept.pop(token, None)
    request.session[SESSION_KEY] = kept
    if items is None:
        return None
    try:
        return [{**item, "secret": ShownOnce(encryption.decrypt(item["secret"]))} for item in items]
    except encryption.DecryptionError:  # the encryption keys changed in between
        return None


def shown_once_page(
    request: HttpRequest,
    token: str,
    *,
    context: dict[str, Any],
    title: str,
    note: str,
    lost: str,
    back_url: str,
    back_label: str,
) -> HttpResponse:
    """The page of a token: its secrets with Copy buttons, or (opened again) nothing.
    `lost` says what to do if a secret was not copied."""
    items = take(request, token)
    response = TemplateResponse(
        request,
        TEMPLATE,
        {
            **context,
            "title": title,
            "note": note,
            "lost": lost,
            "items": items,
            "back_url": back_url,
            "back_label": back_label,
        },
    )
    add_never_cache_headers(response)  # includes no-store: no cache keeps the page
    return response
