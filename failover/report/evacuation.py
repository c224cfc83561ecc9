"""The report of an evacuation (`evacuation_orchestrator`'s summary, with each plan's own run summary): one row per
plan - tier, status, its run, VMs failed over, its share of the in-flight cap and the most it had in flight, the
recovery time it achieved against its target and the worst data-loss window of its RPO table - and the
evacuation's own figures (the cap per vault and recovery region, the predicted and achieved recovery time, the one
approval, the recovery capacity of every plan together per recovery region, and its warnings).
`GET /api/evacuations/{id}/report` serves it (HTML, or these facts with `format=json`); each plan's full report is
its run's (`GET /api/failovers/{run}/report`)."""

from __future__ import annotations

from typing import Any

from failover.render import render
from failover.report.data import report_data
from failover.report.page import CSS
from failover.run import rto_seconds


def evacuation_report(summary: dict[str, Any], runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The facts: `summary` the evacuation's output, `runs` each plan's run summary by plan name (plans never
    started have none)."""
    rows = []
    scale = 1.0
    for row in summary.get("plans") or []:
        run = runs.get(row["plan"])
        facts = report_data(run) if run else None
        if run:
            scale = float(run.get("time_scale") or 1.0)
        rto = (facts or {}).get("rto") or {}
        rpo = (facts or {}).get("rpo") or {}
        rows.append(
            {
                "plan": row["plan"],
                "tier": row.get("tier"),
                "after": row.get("after") or [],
                "status": row.get("status"),
                "run_id": row.get("run_id"),
                "vms": row.get("vms"),
                "vms_failed_over": row.get("vms_failed_over"),
                "in_flight_share": row.get("in_flight_cap"),
                "peak_vms_in_flight": row.get("peak_vms_in_flight"),
                "rto_seconds": rto.get("achieved_seconds"),
                "rto_target_seconds": rto.get("target_seconds"),
                "rto_met": rto.get("met"),
                "rpo_worst_seconds": rpo.get("worst_window_seconds"),
                "rpo_target_seconds": rpo.get("target_seconds"),
                "rpo_within": rpo.get("within"),
                "note": row.get("note"),
            }
        )
    started, finished = summary.get("started_at"), summary.get("finished_at")
    achieved = rto_seconds(started, finished) * scale if started and finished else None
    eta = summary.get("eta_seconds")
    return {
        "instance_id": summary.get("instance_id"),
        "kind": "evacuation",
        "region": summary.get("region"),
        "status": summary.get("status"),
        "requested_by": summary.get("requested_by"),
        "reason": summary.get("reason"),
        "started_at": started,
        "finished_at": finished,
        "in_flight_cap": summary.get("in_flight_cap"),
        "predicted_seconds": None if eta is None else round(float(eta), 3),  # the preview's: plan time already
        "achieved_seconds": None if achieved is None else round(achieved, 3),
        "approvals": [
            {k: d.get(k) for k in ("approver", "decision", "at", "comment")} for d in summary.get("approvals") or []
        ],
        "plans": rows,
        "excluded": summary.get("excluded") or [],
        # the recovery capacity check of every plan together, per recovery region, before the card
        "capacity": summary.get("capacity"),
        "warnings": summary.get("warnings") or [],
        "errors": summary.get("errors") or [],
    }


def evacuation_html(facts: dict[str, Any]) -> str:
    """One self-contained page (failover/templates/evacuation.html, autoescaped)."""
    return render("evacuation.html", report=facts, css=CSS)
