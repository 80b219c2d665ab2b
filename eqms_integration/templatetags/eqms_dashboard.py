"""`{% integration_dashboard %}`: the operations dashboard on the admin index."""

from __future__ import annotations

from typing import Any

from django import template

from eqms_integration.dashboard import dashboard

register = template.Library()


@register.inclusion_tag("admin/eqms_dashboard.html", takes_context=True)
def integration_dashboard(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    return {"dashboard": dashboard(request.user) if request is not None else None}


@register.filter
def age(seconds: int | None) -> str:
    """90 -> '1 min', 7300 -> '2 h 1 min', None -> '—'."""
    if seconds is None:
        return "—"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if days:
        return f"{days} d {hours % 24} h"
    if hours:
        return f"{hours} h {minutes % 60} min"
    return f"{minutes} min"


@register.filter
def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f} %"
