"""The report as one self-contained HTML page: `report_html(summary)`, with an inline SVG timeline."""

from __future__ import annotations

import html
from typing import Any

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
    """Escaped text of any value; None as a dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return html.escape(", ".join(str(v) for v in value)) or "—"
    return html.escape(str(value))


def _table(headers: list[str], rows: list[list[str]], empty: str = "none") -> str:
    if not rows:
        return f"<p class=muted>{html.escape(empty)}</p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _status(value: Any) -> str:
    colour = COLOURS.get(str(value), "#424242")
    return f'<span class=status style="background:{colour}">{_e(value)}</span>'


def _dns_value(value: Any) -> str:
    if isinstance(value, dict):
        return f"{_e(value.get('status'))}, priority {_e(value.get('priority'))}"
    return _e(value)


def _azure_local(vms: dict[str, list[dict[str, Any]]]) -> list[str]:
    """A failback's Azure Local VMs: restored on another cluster (what to do), and in place (Arc window left)."""
    if not any(vms.values()):
        return []
    other = _table(
        ["VM", "recovery plan", "was on", "came back on", "host", "to do"],
        [
            [_e(v["name"]), _e(v["recovery_plan"]), _e(v["original_cluster"]), _e(v["cluster"]), _e(v["host"]),
             _e(v["action"])]
            for v in vms["other_cluster"] + vms["unknown"]
        ],
        "none: every VM came back on its own cluster",
    )  # fmt: skip
    in_place = _table(
        ["VM", "recovery plan", "cluster", "failed over to Azure", "failed back", "Arc window left"],
        [
            [_e(v["name"]), _e(v["recovery_plan"]), _e(v["cluster"]), _e(v["failed_over_at"]), _e(v["failed_back_at"]),
             _e(f"{v['arc_days_left']:.1f} of 45 days" if v.get("arc_days_left") is not None else None)]
            for v in vms["in_place"]
        ],
        "none",
    )  # fmt: skip
    return [
        "<h2>Azure Local VMs restored on another cluster</h2><p class=muted>They run as unmanaged VMs: register each "
        "on the cluster it came back on and reconnect it to its Azure resource (custom location, storage path, "
        "logical network).</p>" + other,
        "<h2>Azure Local VMs restored in place</h2><p class=muted>Azure Arc reconnects them by itself within 45 days "
        "of losing its connection (counted from the failover to Azure); after that an administrator must reconnect "
        "them.</p>" + in_place,
    ]


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
    """The run report as one self-contained HTML page."""
    data = report_data(summary)
    scale = data["time_scale"]
    rto = data["rto"]
    note = f" ({rto['note']})" if rto.get("note") else ""
    verdict = "" if rto["met"] is None else " — met" if rto["met"] else " — MISSED" + note
    simulated = f" (simulated at time scale x{scale:g})" if data["simulated"] else ""
    facts = [
        ("Status", _status(data["status"])),
        ("Plan", _e(data["plan"])),
        ("Mode", _e(data["mode"])),
        ("Run", f"<code>{_e(data['instance_id'])}</code>"),
        (
            "Requested by",
            _e(data["requested_by"])
            + (f" (says {_e(data['requested_by_claim'])}: not verified)" if data.get("requested_by_claim") else ""),
        ),
        ("Reason", _e(data["reason"])),
        ("Started", _e(data["started_at"])),
        ("Finished", _e(data["finished_at"])),
        (
            "Recovery time",
            f"{_e(duration(rto['achieved_seconds']))} achieved, target {_e(duration(rto['target_seconds']))}"
            f"{_e(verdict)}{_e(simulated)}",
        ),
        ("VMs failed over", _e(data["vms_failed_over"])),
        (
            "Most VMs in flight",
            f"{_e(data['in_flight']['peak'])} (cap {_e(data['in_flight']['cap'])})"
            if data["in_flight"]["cap"]
            else "not recorded",
        ),
        (
            "AVD sessions logged off",
            f"{_e(data['sessions']['logged_off'])} of {_e(data['sessions']['found'])}"
            + (
                f"; {_e(data['sessions']['unreachable'])} on unreachable session hosts in the region that is down"
                if data["sessions"].get("unreachable")
                else ""
            ),
        ),
        ("Events", f"{_e(data['events']['published'])} published, {_e(data['events']['failed'])} failed"),
    ]
    sections = [
        "<dl>" + "".join(f"<dt>{html.escape(k)}</dt><dd>{v}</dd>" for k, v in facts) + "</dl>",
        "<h2>Triggers</h2>"
        + _table(
            ["alert rule", "title", "regions", "fired at"],
            [[_e(t["alert_rule"]), _e(t["title"]), _e(t["regions"]), _e(t["fired_at"])] for t in data["triggers"]],
            "started by hand",
        ),
        "<h2>Data loss (RPO)</h2>"
        + (
            "<ul>" + "".join(f"<li>{_e(n['note'])}</li>" for n in data["data_loss"]) + "</ul>"
            if data["data_loss"]
            else "<p class=muted>no replication lag reported by the dependencies</p>"
        ),
        f"<h2>Timeline</h2><p class=muted>time from the run start, in plan time{_e(simulated)}</p>"
        + timeline_svg(data["timeline"], scale, rto["run_seconds"]),
        "<h2>Approvals</h2>"
        + _table(
            ["who", "decision", "when", "comment"],
            [[_e(a["approver"]), _e(a["decision"]), _e(a["at"]), _e(a["comment"])] for a in data["approvals"]],
            "no approval decisions",
        ),
        "<h2>Recovery plans</h2>"
        + _table(
            ["recovery plan", "VMs", "state", "action", "commit", "errors"],
            [
                [
                    _e(p["name"]),
                    _e(p["vms"]),
                    _status(p["state"]),
                    _e(p["action"]),
                    _e(p["commit"]),
                    "<br>".join(f"<span class=err>{_e(x)}</span>" for x in p["errors"]) or "—",
                ]
                for p in data["recovery_plans"]
            ],
        ),
        "<h2>Batches</h2>"
        + _table(
            ["#", "group", "recovery plans", "VMs", "started", "finished", "status"],
            [
                [
                    _e(b.get("index")),
                    _e(b.get("group")),
                    _e(b.get("recovery_plans")),
                    _e(b.get("vms")),
                    _e(b.get("started_at")),
                    _e(b.get("finished_at")),
                    _status(b.get("status")),
                ]
                for b in data["batches"]
            ],
        ),
        "<h2>DNS and Traffic Manager</h2>"
        + _table(
            ["record / endpoint", "kind", "from", "to"],
            [
                [_e(c["record"]), _e(c["kind"].replace("_", " ")), _dns_value(c["from"]), _dns_value(c["to"])]
                for c in data["dns"]
            ],
            "no DNS changes",
        ),
        "<h2>Waves</h2>"
        + _table(
            ["#", "group", "kind", "what", "status"],
            [
                [
                    _e(i + 1),
                    _e(w.get("group")),
                    _e("ASR recovery plans" if w.get("kind") == "asr" else "custom action"),
                    _e(
                        f"{w.get('recovery_plans')} recovery plans, {w.get('vms')} VMs"
                        if w.get("kind") == "asr"
                        else f"webhook {w.get('webhook')}" + (f": {w['error']}" if w.get("error") else "")
                    ),
                    _status(w.get("status")),
                ]
                for i, w in enumerate(data["waves"])
            ],
            "no waves recorded",
        ),
        "<h2>Preflight</h2>"
        + _table(
            ["check", "status", "message"],
            [
                [_e(c.get("name")), _e(c.get("status")), _e(c.get("message"))]
                for c in (data["preflight"] or {}).get("checks") or []
            ],
            "no network or identity checks in this plan",
        ),
        "<h2>Dependencies</h2>"
        + _table(
            ["name", "kind", "status", "details", "error"],
            [
                [
                    _e(d["name"]),
                    _e(d["kind"]),
                    _status(d["status"]),
                    "<br>".join(f"{_e(k)}: {_e(v)}" for k, v in d["details"].items()) or "—",
                    f"<span class=err>{_e(d['error'])}</span>" if d["error"] else "—",
                ]
                for d in data["dependencies"]
            ],
        ),
        "<h2>Verify</h2>"
        + f"<p>Healthy: {_e(data['verify']['healthy'])}"
        + (f" — {_e(data['verify']['note'])}" if data["verify"]["note"] else "")
        + "</p>"
        + _table(
            ["check", "healthy", "details"],
            [
                [
                    _e(c.get("name")),
                    _e(c.get("healthy")),
                    "; ".join(f"{_e(k)}: {_e(v)}" for k, v in c.items() if k not in ("name", "healthy")) or "—",
                ]
                for c in data["verify"]["checks"]
            ],
            "no checks ran",
        ),
        "<h2>Operator</h2>" + _operator(data["operator"]),
    ]
    if data["drill"] or data["cleanup"] is not None:
        drill = data["drill"] or {}
        lines = []
        if drill:
            note = f" ({_e(drill['rto_note'])})" if drill.get("rto_note") else ""
            lines.append(
                f"Recovery time {_e(duration(float(drill.get('rto_seconds') or 0) * scale))}, target "
                f"{_e(duration(float(drill.get('rto_target_seconds') or 0) * scale))}: "
                f"{'met' if drill.get('rto_met') else 'MISSED' + note}"
            )
        if data["cleanup"] is not None:
            lines.append(f"Cleanup: {_e(data['cleanup'])}")
        sections.append("<h2>Drill</h2>" + "".join(f"<p>{line}</p>" for line in lines))
    sections.extend(_azure_local(data["azure_local"]))
    if data["warnings"]:
        sections.append("<h2>Warnings</h2><ul>" + "".join(f"<li>{_e(w)}</li>" for w in data["warnings"]) + "</ul>")
    sections.append(
        "<h2>Errors</h2>"
        + (
            "<ul>" + "".join(f"<li class=err>{_e(e)}</li>" for e in data["errors"]) + "</ul>"
            if data["errors"]
            else "<p class=muted>none</p>"
        )
    )
    title = f"Failover report: {data['plan']} ({data['mode']}) — {data['status']}"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{''.join(sections)}</body></html>"
    )


def _operator(operator: dict[str, Any]) -> str:
    rows = [
        [_e(a.get("action")), _e(a.get("recovery_plan")), _e(a.get("by")), _e(a.get("at"))]
        for a in operator.get("actions") or []
    ]
    rows += [
        [_e("skipped"), _e(s.get("name")), _e(s.get("by")), _e(s.get("at"))] for s in operator.get("skipped") or []
    ]
    cancel = operator.get("cancel")
    if isinstance(cancel, dict):
        rows.append([_e("cancel"), _e(cancel.get("reason")), _e(cancel.get("by")), _e(cancel.get("at"))])
    return _table(["action", "recovery plan / reason", "by", "at"], rows, "no operator actions")
