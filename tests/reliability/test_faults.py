"""Azure degraded: 20% of ARM calls throttle or fail, sinks go down. Every run completes, nothing twice."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import finish, post_alert, run_status, wait_waiting
from tests.reliability.conftest import FULL, assert_converged, start_approved

SEEDS = [11, 12, 13, 14, 15] if FULL else [11]


@pytest.mark.parametrize("seed", SEEDS)
def test_run_completes_when_a_fifth_of_arm_calls_fail(fault_stack: Any, seed: int) -> None:
    stack = fault_stack(rate=0.2, seed=seed, vms=60, sessions=30, batch_size=30)
    instance_id = start_approved(stack)
    status = finish(stack, instance_id, timeout=240)
    summary = status["output"]
    assert status["runtime_status"] == "Completed"
    assert summary["status"] == "Completed", summary["errors"]
    assert_converged(stack, summary)
    stats = stack.simulator_stats()
    # 20% of several hundred ARM calls: the faults were really there, and the run met them.
    assert stats["faults_injected"] >= 0.1 * stats["requests"] * 0.8, stats
    assert stats["max_failover_calls_per_plan"] == 1
    undelivered = summary["messages"]["failed"]
    assert summary["messages"]["sent"] + len(undelivered) == summary["sessions"]["found"]
    print(f"\nseed {seed}: {stats}, messages not delivered (reported): {len(undelivered)}")


def test_teams_and_event_grid_down(fault_stack: Any) -> None:
    """Teams and Event Grid are down for the whole run: the approval goes through the API, events that
    cannot be published are counted, the failover itself is not held up."""
    stack = fault_stack(vms=20, sessions=6)
    stack.estate.faults.faults.outages = frozenset({"teams", "eventgrid"})
    answer = post_alert(stack)
    instance_id = answer.json()["instance_id"]
    wait_waiting(stack, instance_id)
    decision = stack.http.post(
        f"{stack.api_url}/api/failovers/{instance_id}/approvals",
        json={"decision": "approve", "comment": "Teams is down"},
        headers={"X-MS-CLIENT-PRINCIPAL-NAME": stack.plan.approval.approvers[0]},
        timeout=30,
    )
    assert decision.status_code == 200, decision.text
    status = finish(stack, instance_id, timeout=120)
    summary = status["output"]
    assert summary["status"] in ("Completed", "CompletedWithErrors"), summary["errors"]
    assert summary["vms_failed_over"] == 20
    assert summary["events_published"] == 0 and summary["events_failed"] > 0
    injected = stack.estate.faults.snapshot()["injected"]
    assert injected.get("eventgrid.publish:outage", 0) > 0 and injected.get("teams.webhook:outage", 0) > 0
    assert run_status(stack, instance_id)["runtime_status"] == "Completed"


def test_hung_asr_job_is_reported_not_waited_for_forever(fault_stack: Any) -> None:
    """One recovery plan's job never ends: the run gives up on it after `asr.job_poll_max`, reports it, and
    the other plans are failed over once each."""
    stack = fault_stack(vms=20, sessions=2)
    stack.estate.config.hanging_plans = ("rp-apps-01",)
    instance_id = start_approved(stack)
    status = finish(stack, instance_id, timeout=180)
    summary = status["output"]
    assert summary["status"] == "CompletedWithErrors"
    plans = {p["name"]: p for p in summary["recovery_plans"]}
    assert plans["rp-apps-01"]["state"] != "Succeeded" and plans["rp-identity"]["state"] == "Succeeded"
    assert any("rp-apps-01" in e for e in summary["errors"]), summary["errors"]
    calls = {p["name"]: p["failover_calls"] for p in stack.estate.snapshot()["recovery_plans"]}
    assert set(calls.values()) == {1}, calls
