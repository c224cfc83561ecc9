"""The report as one self-contained HTML page: `report_html(summary)` renders failover/templates/report.html (Jinja2,
autoescaped) with an inline SVG timeline drawn here, `timeline_svg`, which escapes its own text."""

from __future__ import annotations

import html
from typing import Any

from failover.render import render, show
from failover.report.data import duration, report_data

# SVG geometry (px)
LABEL_WIDTH = 200
CHART_WIDTH = 640
ROW_HEIGHT = 22
BAR_HEIGHT = 14
AXIS_HEIGHT = 28
COLOURS = {
    "Succeeded": "#2e7d32",
    "Completed": "#2e7d32",
    "Failed": "#c62828",
    "TimedOut": "#c62828",
    "Rejected": "#6d4c41",
    "Cancelled": "#757575",
    "Running": "#1565c0",
    "CompletedWithErrors": "#ef6c00",
}


def _e(value: Any) -> str:
    """Escaped text of any value; None as a dash (the SVG timeline's text)."""
    return html.escape(show(value))


def timeline_svg(entries: list[dict[str, Any]], scale: float, total: float) -> str:
    """One bar per entry, x proportional to the time from the run start; labelled rows, a plan-time axis."""
    horizon = max([total, *(e["end"] for e in entries)]) or 1.0
    per_second = CHART_WIDTH / horizon
    height = AXIS_HEIGHT + ROW_HEIGHT * len(entries) + 8
    width = LABEL_WIDTH + CHART_WIDTH + 20
    parts = [
        f'<svg role="img" aria-label="run timeline" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-size="11" font-family="sans-serif">'
    ]
    for tick in range(5):
        seconds = horizon * tick / 4
        x = LABEL_WIDTH + seconds * per_second
        parts.append(f'<line x1="{x:.2f}" y1="16" x2="{x:.2f}" y2="{height}" stroke="#ddd"/>')
        anchor = "start" if tick == 0 else "end" if tick == 4 else "middle"
        parts.append(f'<text x="{x:.2f}" y="12" text-anchor="{anchor}">{_e(duration(seconds * scale))}</text>')
    for row, entry in enumerate(entries):
        y = AXIS_HEIGHT + row * ROW_HEIGHT
        x = LABEL_WIDTH + entry["start"] * per_second
        bar = entry["duration"] * per_second
        colour = COLOURS.get(str(entry["status"]), "#424242")
        title = f"{entry['label']}: {entry['status']}, {duration(entry['plan_start'])} → {duration(entry['plan_end'])}"
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + BAR_HEIGHT - 3}" text-anchor="end">{_e(entry["label"][:34])}</text>'
        )
        parts.append(
            f'<rect class="{entry["kind"]}" x="{x:.3f}" y="{y}" width="{bar:.3f}" height="{BAR_HEIGHT}" '
            f'fill="{colour}"><title>{_e(title)}</title></rect>'
        )
    parts.append("</svg>")
    return "".join(parts)


CSS = """
body{font-family:system-ui,sans-serif;max-width:62rem;margin:2rem auto;padding:0 1rem;color:#212121}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;padding:.25rem .5rem;
border-bottom:1px solid #eee;vertical-align:top}th{background:#f5f5f5}.muted{color:#757575}
.status{color:#fff;border-radius:3px;padding:0 .4rem}.err{color:#c62828}dl{display:grid;
grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}
"""


def report_html(summary: dict[str, Any]) -> str:
    """The run report as one self-contained HTML page (failover/templates/report.html)."""
    data = report_data(summary)
    return render(
        "report.html",
        data=data,
        scale=data["time_scale"],
        css=CSS,
        colours=COLOURS,
        timeline=timeline_svg(data["timeline"], data["time_scale"], data["rto"]["run_seconds"]),
        operator_rows=_operator_rows(data["operator"]),
    )


def _operator_rows(operator: dict[str, Any]) -> list[list[Any]]:
    """Operator actions, skipped recovery plans and the cancel: action, recovery plan or reason, by, at."""
    rows = [[a.get("action"), a.get("recovery_plan"), a.get("by"), a.get("at")] for a in operator.get("actions") or []]
    rows += [["skipped", s.get("name"), s.get("by"), s.get("at")] for s in operator.get("skipped") or []]
    cancel = operator.get("cancel")
    if isinstance(cancel, dict):
        rows.append(["cancel", cancel.get("reason"), cancel.get("by"), cancel.get("at")])
    return rows
