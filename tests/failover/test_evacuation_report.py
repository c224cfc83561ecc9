"""The evacuation's report (failover.report.evacuation): each plan's row from the evacuation's summary and the
plan's own run summary, in plan time; the HTML page escapes what it shows."""

from __future__ import annotations

from typing import Any

from failover.report.evacuation import evacuation_html, evacuation_report


def _run(plan: str, rto: float, points: dict[str, str]) -> dict[str, Any]:
    return {
        "instance_id": f"evacuation-x:{plan}", "plan": plan, "mode": "unplanned", "status": "Completed",
        "started_at": "2026-12-06T10:00:00Z", "finished_at": f"2026-12-06T10:00:{rto:02.0f}Z", "rto_seconds": rto,
        "rto_target_seconds": 12.0, "rto_met": True, "time_scale": 600.0, "rpo_target_seconds": 1.5,
        "triggers": [{"alert_id": "a", "fired_at": "2026-12-06T10:00:00Z"}],
        "recovery_plans": [{"name": f"rp-{plan}", "recovery_points": points}], "batches": [], "errors": [],
        "approvals": [], "sessions": {}, "dns": [], "steps": [],
    }  # fmt: skip


def test_each_plan_row_in_plan_time() -> None:
    summary = {
        "instance_id": "evacuation-x", "region": "westeurope", "status": "CompletedWithErrors",
        "started_at": "2026-12-06T10:00:00Z", "finished_at": "2026-12-06T10:00:20Z", "in_flight_cap": 100,
        "eta_seconds": 9000.0, "approvals": [{"approver": "a@contoso.com", "decision": "approve", "at": "x"}],
        "plans": [
            {"plan": "identity", "tier": 0, "after": [], "status": "Completed", "run_id": "evacuation-x:identity",
             "vms": 4, "vms_failed_over": 4, "in_flight_cap": 50, "peak_vms_in_flight": 4},
            {"plan": "apps", "tier": 1, "after": ["identity"], "status": "Blocked", "run_id": None, "vms": 40,
             "note": "a plan it fails over after did not complete <b>"},
        ],
        "excluded": [], "errors": ["apps: blocked"],
    }  # fmt: skip
    runs = {"identity": _run("identity", 10.0, {"vm-dc-1": "2026-12-06T09:59:59.800Z"})}
    facts = evacuation_report(summary, runs)
    assert facts["achieved_seconds"] == 20 * 600 and facts["predicted_seconds"] == 9000.0
    identity, apps = facts["plans"]
    assert identity["in_flight_share"] == 50 and identity["rto_seconds"] == 10 * 600 and identity["rto_met"] is True
    assert identity["rpo_worst_seconds"] == 0.2 * 600 and identity["rpo_within"] is True  # 120 s against 900 s
    assert apps["rto_seconds"] is None and apps["rpo_worst_seconds"] is None and apps["status"] == "Blocked"
    page = evacuation_html(facts)
    assert "Evacuation of westeurope: CompletedWithErrors" in page and "&lt;b&gt;" in page and "<b>" not in page


def test_the_summed_capacity_and_its_warnings() -> None:
    rows = [{"quota": "virtualMachines", "name": "Virtual Machines", "needed": 60, "current": 10, "limit": 50,
             "available": 40, "shortfall": 20}]  # fmt: skip
    capacity = {"short": True, "refused": False, "errors": [], "warnings": ["w"], "regions": [
        {"subscription_id": "s", "region": "northeurope", "plans": ["identity", "apps"], "policy": "warn",
         "vms": 60, "rows": rows, "unknown_sizes": [], "short": True},
        {"subscription_id": "s", "region": "swedencentral", "plans": ["x"], "policy": "warn", "error": "403 <b>"},
    ]}  # fmt: skip
    summary = {"instance_id": "e", "region": "westeurope", "status": "CompletedWithErrors", "plans": [],
               "capacity": capacity, "warnings": ["recovery capacity in northeurope is short"]}  # fmt: skip
    facts = evacuation_report(summary, {})
    assert facts["capacity"] == capacity and facts["warnings"] == ["recovery capacity in northeurope is short"]
    page = evacuation_html(facts)
    assert "<td>northeurope</td><td>identity, apps</td><td>warn</td><td>Virtual Machines</td><td>60</td>" in page
    assert "<strong>short by 20</strong>" in page and "not checked: 403 &lt;b&gt;" in page
    assert "<li>recovery capacity in northeurope is short</li>" in page
