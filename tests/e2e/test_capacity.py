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


def card_posted(stack: LocalStack, instance_id: str) -> str:
    """The run's approval card as Teams received it, once the run waits for approval."""
    wait_waiting(stack, instance_id)
    return str(wait_for(lambda: teams_messages(stack))[-1])


def approve_and_finish(stack: LocalStack, instance_id: str) -> dict[str, Any]:
    """The first approver approves through the card's link; the run's final status."""
    decided = approve_as(stack.plan.approval.approvers[0], approval_link(stack, instance_id))
    assert decided.status_code == 200, decided.text
    return finish(stack, instance_id, timeout=120)


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
        card = card_posted(stack, instance_id)
        assert "Recovery capacity in northeurope: SHORT (policy warn)" in card and "short by 80" in card
        status = approve_and_finish(stack, instance_id)
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


def reserve_for_every_vm(stack: LocalStack, slots: int) -> str:
    """A capacity reservation group in the recovery region with `slots` Standard_D4s_v5 (the demo's recovery size)
    that every protected VM names, then no free vCPU quota left there (regional nor family)."""
    vms = [i.vm_name for p in stack.estate.recovery_plans.values() for i in p.items]
    assert {i.size for p in stack.estate.recovery_plans.values() for i in p.items} == {"Standard_D4s_v5"}
    group_id = stack.estate.capacity.reserve("rg-dr-neu", "crg-neu", "crg-d4", "Standard_D4s_v5", slots)
    stack.estate.set_capacity_reservation_group(group_id, *vms)
    used = stack.estate.capacity.usage(RECOVERY_REGION)
    stack.estate.capacity.set_quota(RECOVERY_REGION, FAMILY, limit=used[FAMILY])
    stack.estate.capacity.set_quota(RECOVERY_REGION, "cores", limit=used["cores"])
    return group_id


class TestCapacityReservations:
    def test_a_reservation_covering_the_vms_passes_without_free_quota(self, make_stack: Any) -> None:
        """No free vCPU in the recovery region, policy block: the reservation holds every VM, so the check passes
        and the failover brings every VM up in its reserved slot (judged by the simulator's state)."""
        stack = make_stack(vms=30, sessions=4, capacity="block")
        reserve_for_every_vm(stack, 30)
        instance_id = start(stack)
        card = card_posted(stack, instance_id)
        assert "Recovery capacity in northeurope: fits" in card and "30 VMs on capacity reservations" in card
        summary = approve_and_finish(stack, instance_id)["output"]
        assert summary["status"] == "Completed", summary["errors"]
        assert summary["capacity"]["reserved"] == 30 and summary["capacity"]["short"] is False
        assert {r["quota"]: r["needed"] for r in summary["capacity"]["rows"]}[FAMILY] == 0
        state = stack.estate.snapshot()
        assert all(p["state"] == "Committed" for p in state["recovery_plans"]), state["recovery_plans"]
        sim = capacity(stack)
        assert sim["quota_failures"] == 0
        assert sim["reservations"]["rg-dr-neu/crg-neu/crg-d4"] == {"size": "Standard_D4s_v5", "reserved": 30,
                                                                  "allocated": 30}  # fmt: skip
        assert sim["usages"][FAMILY]["current"] == sim["usages"][FAMILY]["limit"]  # no vCPU beyond the reservation

    def test_a_reservation_too_small_is_the_shortfall(self, make_stack: Any) -> None:
        """Two VMs beyond the reservation need 8 vCPUs the region does not have: policy block refuses the run before
        anything changes, and the reservation's shortfall is stated with its count."""
        stack = make_stack(vms=30, sessions=4, capacity="block")
        reserve_for_every_vm(stack, 28)
        summary = finish(stack, start(stack))["output"]
        assert summary["status"] == "Failed", summary
        assert any("capacity policy is block" in e and "short by 8" in e for e in summary["errors"]), summary["errors"]
        (row,) = summary["capacity"]["reservations"]
        assert (row["vms"], row["free"], row["covered"], row["shortfall"]) == (30, 28, 28, 2)
        assert summary["capacity"]["reserved"] == 28
        assert any(
            "30 VMs, 28 reserved slots free of 28: 2 VMs beyond the reservation" in w for w in summary["warnings"]
        )
        state = stack.estate.snapshot()
        assert state["jobs"] == [] and all(p["state"] == "Protected" for p in state["recovery_plans"])
        assert capacity(stack)["reservations"]["rg-dr-neu/crg-neu/crg-d4"]["allocated"] == 0
