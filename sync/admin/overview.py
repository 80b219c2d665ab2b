"""What the configuration page shows above its form: the last run and totals, both cursors,
the next run, the conflicts waiting, warnings, the first-run notice and the recent runs."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from sync.admin.charts import run_chart
from sync.configuration_checks import configuration_warnings
from sync.connectors import cursors
from sync.models import SyncConfiguration, SyncRun, SyncState
from sync.selectors import configuration_statistics, run_history
from sync.services.preview import first_run_notice
from sync.services.schedules import next_run_at

RECENT_RUNS = 10


def _shown(value: Any) -> str:
    decoded = cursors.decode(value)
    return decoded.isoformat() if hasattr(decoded, "isoformat") else str(decoded)


def cursor_texts(config: SyncConfiguration) -> dict[str, str | None]:
    """Both cursors as text: where the next delta run starts on each side (None: from the
    beginning)."""
    state = SyncState.objects.filter(configuration=config).first()
    remote = local = None
    if state and state.cursor_value is not None:
        remote = (
            f"{config.delta_field} {_shown(state.cursor_value)}, key {_shown(state.cursor_key)}"
        )
    if state and state.local_cursor_value is not None:
        local = f"updated_at {state.local_cursor_value.isoformat()}, id {state.local_cursor_key}"
    return {"remote": remote, "local": local}


def overview(config: SyncConfiguration) -> dict[str, Any]:
    statistics = configuration_statistics([config.pk])[config.pk]
    conflicts = reverse("admin:sync_syncconflict_changelist")
    runs = reverse("admin:sync_syncrun_changelist")
    direction = config.sync_direction
    last = statistics["last_run"]
    outcome = ""
    if last:
        outcome = SyncRun.Status(last["status"]).label + (" (dry run)" if last["dry_run"] else "")
    return {
        "last_run": last,
        "last_run_outcome": outcome,
        "totals": statistics["totals"],
        "pending_conflicts": statistics["pending_conflicts"],
        "conflicts_url": f"{conflicts}?status__exact=pending&configuration__id__exact={config.pk}",
        "runs_url": f"{runs}?configuration__id__exact={config.pk}",
        "active_run": config.runs.filter(status__in=SyncRun.ACTIVE).first(),
        "cursors": cursor_texts(config),
        "reads_remote": direction != SyncConfiguration.Direction.OUTBOUND,
        "writes_remote": direction != SyncConfiguration.Direction.INBOUND,
        "next_run_at": next_run_at(config),
        "warnings": configuration_warnings(config),
        "first_run_notice": first_run_notice(config),
        "recent_runs": list(config.runs.all()[:RECENT_RUNS]),
        "chart": run_chart(run_history(config.pk)),
    }
