"""Recovery capacity on the local engine against the simulator (issue 23): a quota shortfall in the recovery region
is refused by the plan's `capacity: block` policy before anything changes (judged by the simulator: no failover
call, nobody signed out, no card), and under `warn` the run goes ahead and reports each VM ASR could not bring up
(`OperationNotAllowed`) with its shortfall."""

from __future__ import annotations

from typing import Any

import requests

from local.stack import LocalStack
from simulator.estate import RECOVERY_REGION
from tests.conftest import approval_link, approve_as, finish, post_alert, teams_messages, wait_for, wait_waiting

FAMILY = "standardDSv5Family"  # the demo's recovery VMs are Standard_D4s_v5 (4 vCPUs), the standby VMs D8s_v5


def capacity(stack: LocalStack) -> dict[str, Any]:
    answer = requests.get(f"{stack.simulator.url}/_sim/capacity", verify=stack.simulator.ca_bundle, timeout=10)
    return dict(answer.json())


def start(stack: LocalStack) -> str:
    answer = post_alert(stack)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["instance_id"])


class TestCapacityPolicy:
    def test_block_refuses_before_anything_changes(self, make_stack: Any) -> None:
        stack = make_stack(vms=30, sessions=4, capacity="block")
        used = capacity(stack)["usages"][FAMILY]["current"]  # the standby session hosts (4 x 8 vCPUs)
        stack.estate.capacity.set_quota(RECOVERY_REGION, FAMILY, limit=used + 40)  # 30 VMs x 4 vCPUs need 120
        status = finish(stack, start(stack))
        summary = status["output"]
        assert status["runtime_status"] == "Completed" and summary["status"] == "Failed", summary
        assert any("capacity policy is block" in e and "short by 80" in e for e in summary["errors"]), summary
        assert summary["capacity"]["short"] is True and summary["capacity"]["policy"] == "block"
        # judged by the simulator: no failover started, nobody signed out, no approval card, usage unchanged
        state = stack.estate.snapshot()
        assert all(p["failover_calls"] == 0 and p["state"] == "Protected" for p in state["recovery_plans"])
        assert state["jobs"] == [] and state["sessions_remaining"] == 4 and state["logged_off"] == []
        assert not any(k.startswith("asr.recoveryplans.") and "failover" in k for k in state["requests"]), state
        assert teams_messages(stack) == [] or all("Approval needed" not in str(m) for m in teams_messages(stack))
        assert capacity(stack)["usages"][FAMILY]["current"] == used

    def test_warn_goes_ahead_and_reports_each_vm(self, make_stack: Any) -> None:
        stack = make_stack(vms=30, sessions=4)  # capacity: warn (the default)
        used = capacity(stack)["usages"][FAMILY]["current"]
        stack.estate.capacity.set_quota(RECOVERY_REGION, FAMILY, limit=used + 40)  # identity and data fit, apps not
        instance_id = start(stack)
        wait_waiting(stack, instance_id)
        card = str(wait_for(lambda: teams_messages(stack))[-1])
        assert "Recovery capacity in northeurope: SHORT (policy warn)" in card and "short by 80" in card
        decided = approve_as(stack.plan.approval.approvers[0], approval_link(stack, instance_id))
        assert decided.status_code == 200, decided.text
        status = finish(stack, instance_id, timeout=120)
        summary = status["output"]
        assert summary["status"] == "CompletedWithErrors", summary["errors"]
        plans = {p["name"]: p for p in stack.estate.snapshot()["recovery_plans"]}
        assert plans["rp-identity"]["state"] == "Committed" and plans["rp-data-01"]["state"] == "Committed"
        assert plans["rp-apps-01"]["state"] == "Protected"  # its failover job failed: none of its VMs came up
        apps = int(plans["rp-apps-01"]["vms"])
        # 8 vCPUs were left after identity and data: the first two app VMs fit, each other one is in the report
        refused = summary["capacity"]["refused"]
        assert len(refused) == apps - 2 and capacity(stack)["quota_failures"] == apps - 2
        assert {r["recovery_plan"] for r in refused} == {"rp-apps-01"} and refused[0]["code"] == "OperationNotAllowed"
        assert {r["shortfall"] for r in refused} == {4}  # each VM alone: 40 of 40 in use, 4 more requested
        (warning,) = [w for w in summary["warnings"] if w.startswith("recovery capacity: recovery plan rp-apps-01: ")]
        assert warning.startswith(f"recovery capacity: recovery plan rp-apps-01: {apps - 2} VMs not brought up: ")
        assert f"quota {FAMILY} Cores short by 4; " in warning
        assert f"+{apps - 5} more VMs: the report lists each" in warning
        assert any("OperationNotAllowed" in e for e in summary["errors"])

    def test_without_a_card_the_check_runs_beside_the_sign_out(self, make_stack: Any) -> None:
        """Nobody approves (approval.required 0) under warn: the check does not hold the run (neither the sign-out
        nor the failover waits for it); its result reaches the report, and the VMs that do not fit are reported
        per VM."""
        stack = make_stack(vms=30, sessions=4, approval={"required": 0})
        used = capacity(stack)["usages"][FAMILY]["current"]
        stack.estate.capacity.set_quota(RECOVERY_REGION, FAMILY, limit=used + 40)
        status = finish(stack, start(stack), timeout=120)
        summary = status["output"]
        assert summary["status"] == "CompletedWithErrors" and summary["capacity"]["short"] is True, summary["errors"]
        steps = {s["name"]: s for s in summary["steps"]}
        assert steps["capacity"]["status"] == "Succeeded"
        assert any(w.startswith("recovery capacity in northeurope is short: ") for w in summary["warnings"])
        assert capacity(stack)["quota_failures"] > 0 and stack.estate.snapshot()["sessions_remaining"] == 0
