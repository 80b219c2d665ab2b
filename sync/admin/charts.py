"""The chart of a configuration's last runs, drawn by the server as SVG (no script, no CDN):
two panels, duration and rows read, with a y axis of round ticks, the runs' dates along the x
axis, one bar per run coloured by its outcome, and dry runs drawn hollow."""

from __future__ import annotations

import math
from typing import Any

from django.utils import timezone

# Outcome -> (colour, label of the legend)
OUTCOMES = {
    "success": ("#417690", "success"),
    "success_with_conflicts": ("#8e44ad", "success, conflicts waiting"),
    "partial": ("#c9a400", "partial"),
    "failed": ("#ba2121", "failed"),
    "timeout": ("#ba2121", "timed out"),
    "cancelled": ("#888888", "cancelled"),
}
WIDTH, HEIGHT = 760, 150  # one panel
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 40  # room for the axes and their labels
LABELS_AT_MOST = 8  # dates along the x axis, so they never overlap


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times 10^n at least `value` (an axis maximum people can read)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def _duration_label(ms: float) -> str:
    if ms >= 60_000:
        return f"{ms / 60_000:g} min"
    if ms >= 1000:
        return f"{ms / 1000:g} s"
    return f"{ms:g} ms"


def _panel(
    runs: list[dict], value: str, unit: Any, title: str, *, whole: bool = False
) -> dict[str, Any]:
    step = nice_ceiling(max([run[value] or 0 for run in runs] + [0]) / 4)
    peak = 4 * (max(step, 1) if whole else step)  # four round steps; counts in whole numbers
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(runs), 1)
    bar_w = max(2.0, min(22.0, slot * 0.7))
    ticks = [
        {"y": round(TOP + plot_h - plot_h * i / 4, 1), "label": unit(peak * i / 4)}
        for i in range(5)
    ]
    every = max(1, math.ceil(len(runs) / LABELS_AT_MOST))
    # Within a day the title gives the date and the axis the times, to the second.
    span = runs[-1]["finished_at"] - runs[0]["finished_at"]
    label_format = "%H:%M:%S" if span.days < 1 else "%m-%d %H:%M"
    bars = []
    for index, run in enumerate(runs):
        amount = run[value] or 0
        height = plot_h * amount / peak
        x = LEFT + slot * index + (slot - bar_w) / 2
        finished = timezone.localtime(run["finished_at"])
        bars.append(
            {
                "x": round(x, 1),
                "y": round(TOP + plot_h - max(height, 1), 1),
                "width": round(bar_w, 1),
                "height": round(max(height, 1), 1),
                "colour": OUTCOMES.get(run["status"], ("#888888", ""))[0],
                "dry_run": run["dry_run"],
                "status": run["status"],
                "tooltip": _tooltip(run, finished),
                "label": finished.strftime(label_format) if index % every == 0 else "",
                "label_x": round(x + bar_w / 2, 1),
            }
        )
    return {
        "title": title,
        "bars": bars,
        "ticks": ticks,
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "bottom": TOP + plot_h,
        "label_y": TOP + plot_h + 16,
        "name": value,
    }


def _tooltip(run: dict, finished: Any) -> str:
    dry = ", dry run" if run["dry_run"] else ""
    return (
        f"Run {run['id']} ({OUTCOMES.get(run['status'], ('', run['status']))[1]}{dry}), "
        f"finished {finished:%Y-%m-%d %H:%M:%S}: {run['duration_ms'] or 0} ms, "
        f"{run['processed']} read, {run['created']} created, {run['updated']} updated, "
        f"{run['failed']} failed, {run['conflicted']} conflicts"
        + (f" ({run['pending_conflicts']} waiting)" if run["pending_conflicts"] else "")
    )


def run_chart(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Both panels for these runs (oldest first, as selectors.run_history gives them)."""
    if not runs:
        return None
    shown = {run["status"] for run in runs}
    legend = [(colour, label) for status, (colour, label) in OUTCOMES.items() if status in shown]
    legend = list(dict.fromkeys(legend))  # timeout and failed share a colour
    return {
        "count": len(runs),
        "first": timezone.localtime(runs[0]["finished_at"]),
        "last": timezone.localtime(runs[-1]["finished_at"]),
        "panels": [
            _panel(runs, "duration_ms", _duration_label, "Duration"),
            _panel(runs, "processed", lambda n: f"{n:g}", "Rows read", whole=True),
        ],
        "legend": legend,
        "has_dry_runs": any(run["dry_run"] for run in runs),
    }
