"""The run report: a finished run's summary (the failover orchestration's output) as facts and as one page.

`report_data(summary)` returns the facts as JSON: the outcome, the recovery time achieved against the
target in plan time (run seconds times `time_scale`), data-loss notes, a timeline (one entry per step and per
batch, `start`/`end` in run seconds from the run's start, `plan_start`/`plan_end` in plan seconds), the
approval audit, recovery plans, DNS and Traffic Manager changes, dependencies, verify checks, drill and
cleanup, operator actions, event counts and errors.

`report_html(summary)` renders the same facts as one self-contained HTML page, the Jinja2 template
failover/templates/report.html (autoescaped): inline CSS, an inline SVG timeline, no scripts and no external
assets; every value is escaped. `GET /api/failovers/{id}/report`, `failover report ID` and
`failover demo --report FILE` serve it.

The facts are built in `failover.report.data`, the page in `failover.report.page` (the template's context and
the SVG timeline); every name is importable from `failover.report`.
"""

from failover.report.data import DETAIL_KEYS, duration, report_data
from failover.report.page import (
    AXIS_HEIGHT,
    BAR_HEIGHT,
    CHART_WIDTH,
    COLOURS,
    CSS,
    LABEL_WIDTH,
    ROW_HEIGHT,
    report_html,
    timeline_svg,
)

__all__ = [
    "AXIS_HEIGHT",
    "BAR_HEIGHT",
    "CHART_WIDTH",
    "COLOURS",
    "CSS",
    "DETAIL_KEYS",
    "LABEL_WIDTH",
    "ROW_HEIGHT",
    "duration",
    "report_data",
    "report_html",
    "timeline_svg",
]
