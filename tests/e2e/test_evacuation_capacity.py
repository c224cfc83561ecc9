"""An evacuation's recovery capacity on the local engine against the simulator (issue 23): two plans that each fit
the recovery region's quota but together exceed it. Under `capacity: block` (of either plan) the evacuation is
refused before its card - judged by the simulator: no failover call, nobody signed out; under `warn` the one card,
the live status and the dry run show the summed shortfall, and the plans' runs do not read the quotas again. A
failback checks the primary region's quota the same way and honours `block`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from local.stack import LocalStack
from simulator.estate import PRIMARY_REGION, RECOVERY_REGION
from tests.conftest import approval_link, approve_as, finish, post_alert, teams_messages, wait_for
from tests.e2e.test_evacuation import DEMO, evacuate, evacuation, finished

VMS = "virtualMachines"
APPROVER = DEMO["approval"]["approvers"][0]


@pytest.fixture
def short_stack(tmp_path: Path, start_stack: Any) -> Any:
    """The demo estate as two plans (identity tier 0, apps tier 1), the recovery region's VM quota set so each
    plan's VMs fit and both together do not. Returns (stack, the shortfall)."""

    def make(identity: dict[str, Any], apps: dict[str, Any]) -> tuple[LocalStack, int]:
        plans = {
            "identity": {**{k: v for k, v in DEMO.items() if k not in ("avd", "standby", "dns", "dependencies",
                                                                       "verify", "groups")},
                         "name": "identity", "tier": 0, "groups": [DEMO["groups"][0]], **identity},
            "apps": {**DEMO, "name": "apps", "tier": 1, "after": ["identity"], "groups": DEMO["groups"][1:], **apps},
        }  # fmt: skip
        for name, plan in plans.items():
            (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(plan, sort_keys=False))
        stack = start_stack(
            plan_path=tmp_path / "identity.yaml", extra_plans=[tmp_path / "apps.yaml"], vms=60, sessions=6,
            time_scale=600.0,
        )  # fmt: skip
        vms = {p["name"]: int(p["vms"]) for p in stack.estate.snapshot()["recovery_plans"]}
        identity_vms = sum(n for name, n in vms.items() if name == "rp-identity")
        apps_vms = sum(vms.values()) - identity_vms
        used = usage(stack)[VMS]["current"]
        stack.estate.capacity.set_quota(RECOVERY_REGION, VMS, limit=used + max(identity_vms, apps_vms))
        return stack, min(identity_vms, apps_vms)

    return make


def usage(stack: LocalStack, region: str = RECOVERY_REGION) -> dict[str, Any]:
    answer = requests.get(
        f"{stack.simulator.url}/_sim/capacity", params={"region": region}, verify=stack.simulator.ca_bundle, timeout=10
    )
    return dict(answer.json()["usages"])


def dry_run(stack: LocalStack) -> dict[str, Any]:
    answer = stack.http.post(f"{stack.api_url}/api/evacuations", json={"region": "westeurope", "dry_run": True},
                             timeout=60)  # fmt: skip
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["capacity"])


def test_block_refuses_the_evacuation_before_anything_changes(short_stack: Any) -> None:
    stack, shortfall = short_stack({"capacity": "block"}, {})
    predicted = dry_run(stack)
    assert predicted["refused"] is True and predicted["regions"][0]["plans"] == ["identity", "apps"]
    instance_id = evacuate(stack)
    output = finished(stack, instance_id)["output"]
    assert output["status"] == "Failed", output
    (error,) = output["errors"]
    assert f"recovery capacity in {RECOVERY_REGION} is short for the evacuation's 2 plans together" in error
    assert f"Virtual Machines ({VMS}): " in error and f"short by {shortfall}" in error
    assert "Capacity policy block (identity)" in error
    assert {r["status"] for r in output["plans"]} == {"NotStarted"} and all(not r["run_id"] for r in output["plans"])
    status = evacuation(stack, instance_id)["custom_status"]
    assert status["stage"] == "refused: capacity" and status["capacity"]["refused"] is True
    # judged by the simulator: no failover call, no job, nobody signed out, no card
    state = stack.estate.snapshot()
    assert all(p["failover_calls"] == 0 and p["state"] == "Protected" for p in state["recovery_plans"])
    assert state["jobs"] == [] and state["logged_off"] == [] and state["sessions_remaining"] == 6
    assert not any("failover" in k for k in state["requests"] if k.startswith("asr.")), state["requests"]
    assert not any("Approval needed" in json.dumps(m) for m in teams_messages(stack))


def test_warn_shows_the_summed_shortfall_and_the_plans_do_not_read_again(short_stack: Any) -> None:
    stack, shortfall = short_stack({"operator_wait": "1m"}, {"operator_wait": "1m"})
    predicted = dry_run(stack)
    assert predicted["refused"] is False and predicted["short"] is True
    before = stack.estate.snapshot()["requests"].get("compute.usages.list", 0)
    instance_id = evacuate(stack)
    link = approval_link(stack, instance_id)  # once the card is posted (the status says waiting a moment before)
    card = json.dumps([m for m in teams_messages(stack) if "Approval needed" in json.dumps(m)][-1])
    assert f"Recovery capacity in {RECOVERY_REGION} (identity, apps together): SHORT (policy warn)" in card
    assert f"available of {usage(stack)[VMS]['limit']}: short by {shortfall}" in card
    status = evacuation(stack, instance_id)["custom_status"]
    (region,) = status["capacity"]["regions"]
    assert region["short"] is True and {r["quota"]: r["shortfall"] for r in region["rows"]}[VMS] == shortfall
    assert any(w.startswith(f"recovery capacity in {RECOVERY_REGION} is short for ") for w in status["warnings"])
    assert approve_as(APPROVER, link).status_code == 200
    output = finished(stack, instance_id, timeout=240)["output"]
    assert output["capacity"]["short"] is True and output["warnings"], output
    # one read of the region's quotas for the whole evacuation: the plans' runs took its check
    assert stack.estate.snapshot()["requests"]["compute.usages.list"] - before == 1
    for row in output["plans"]:
        if row["run_id"]:
            child = stack.http.get(f"{stack.api_url}/api/failovers/{row['run_id']}", timeout=10).json()
            assert child["output"]["capacity"]["checked_by"] == instance_id
    report = stack.http.get(f"{stack.api_url}/api/evacuations/{instance_id}/report?format=json", timeout=10).json()
    assert report["capacity"]["short"] is True and report["warnings"] == output["warnings"]


def test_a_failback_short_of_the_primary_region_s_quota_is_refused(make_stack: Any) -> None:
    stack = make_stack(vms=30, sessions=2, capacity="block")
    instance_id = post_alert(stack).json()["instance_id"]
    wait_for(lambda: approve_as(APPROVER, approval_link(stack, instance_id)).status_code == 200, timeout=60)
    assert finish(stack, instance_id, timeout=120)["output"]["status"] == "Completed"
    family = "standardDSv5Family"
    used = usage(stack, PRIMARY_REGION)[family]["current"]
    stack.estate.capacity.set_quota(PRIMARY_REGION, family, limit=used + 8)  # two of the 30 D4s_v5 VMs
    started = stack.http.post(f"{stack.api_url}/api/failbacks", json={"plan": "demo"}, timeout=30)
    assert started.status_code == 202, started.text
    summary = finish(stack, started.json()["instance_id"], timeout=120)["output"]
    assert summary["status"] == "Failed" and summary["capacity"]["region"] == PRIMARY_REGION, summary
    assert any(
        e.startswith(f"primary region capacity for the failback in {PRIMARY_REGION} is short: ")
        and "capacity policy is block" in e
        and "no reprotect, no failback started" in e
        for e in summary["errors"]
    ), summary["errors"]
    # judged by the simulator: still failed over, no reprotect, no failback job
    state = stack.estate.snapshot()
    assert all(p["failover_calls"] == 1 and p["state"] == "Committed" for p in state["recovery_plans"])
    assert not any(j["scenario"] == "Reprotect" or j.get("direction") == "RecoveryToPrimary" for j in state["jobs"])


def test_a_reservation_the_plans_share_is_counted_once(short_stack: Any) -> None:
    """Every VM of both plans names one capacity reservation group with as many free slots as the larger plan has
    VMs, and the recovery region has no free vCPU: each plan alone fits on the reservation, together the smaller
    plan's VMs are beyond it. The evacuation reserves the slots once for all the region's VMs, so under `block` it
    is refused before its card (judged by the simulator: no failover call)."""
    stack, smaller = short_stack({"capacity": "block"}, {})
    stack.estate.capacity.set_quota(RECOVERY_REGION, VMS, limit=100_000)  # the VM count is not what is short here
    items = {p.name: [i.vm_name for i in p.items] for p in stack.estate.recovery_plans.values()}
    slots = max(len(items["rp-identity"]), sum(len(v) for k, v in items.items() if k != "rp-identity"))
    group_id = stack.estate.capacity.reserve("rg-dr-neu", "crg-neu", "crg-d4", "Standard_D4s_v5", slots)
    stack.estate.set_capacity_reservation_group(group_id, *[vm for vms in items.values() for vm in vms])
    used = stack.estate.capacity.usage(RECOVERY_REGION)
    for quota in ("standardDSv5Family", "cores"):
        stack.estate.capacity.set_quota(RECOVERY_REGION, quota, limit=used[quota])  # no free vCPU
    for name in ("identity", "apps"):  # each plan's own check: all its VMs on the reservation
        checks = stack.http.get(f"{stack.api_url}/api/plans/{name}/readiness", timeout=60).json()["checks"]
        assert next(c for c in checks if c["name"] == "capacity")["status"] == "pass", checks
    predicted = dry_run(stack)
    (region,) = predicted["regions"]
    assert predicted["refused"] is True and region["reserved"] == slots, predicted
    (row,) = region["reservations"]
    assert (row["free"], row["vms"], row["covered"], row["shortfall"]) == (slots, slots + smaller, slots, smaller)
    instance_id = evacuate(stack)
    output = finished(stack, instance_id)["output"]
    assert output["status"] == "Failed", output
    (error,) = output["errors"]
    assert f"short by {4 * smaller}" in error and "Capacity policy block (identity)" in error, error
    assert any(f"{smaller} VMs beyond the reservation" in w for w in output["warnings"]), output["warnings"]
    assert output["capacity"]["regions"][0]["reserved"] == slots
    state = stack.estate.snapshot()
    assert all(p["failover_calls"] == 0 and p["state"] == "Protected" for p in state["recovery_plans"])
    assert state["jobs"] == [] and state["logged_off"] == []
