"""An Azure Local site replicated to Azure (ASR HyperVReplicaAzure) on the real local engine against the simulator:
failed over with the demo's A2A plans, then failed back after one of its clusters was lost. Judged on the provider
inputs the simulator received, where it brought the VMs back, and the run's report."""

from __future__ import annotations

from typing import Any

import yaml

from local.stack import DEMO_PLAN, LocalStack
from simulator import hyperv
from simulator.estate import DEMO_ASR_RG, DEMO_VAULT
from tests.conftest import post_alert
from tests.e2e.test_modes import approve_and_finish

AZLOCAL = {"name": "azlocal", "recovery_plans": ["rp-azlocal-*"], "replication_provider": "HyperVReplicaAzure"}


def with_azure_local(make_stack: Any) -> LocalStack:
    """The demo plan with an Azure Local group after the identity group, and a Hyper-V site in the vault: plan
    rp-azlocal-01 (three VMs on cluster azl-weu-01) and rp-azlocal-02 (one VM on azl-weu-02)."""
    groups = yaml.safe_load(DEMO_PLAN.read_text())["groups"]
    stack: LocalStack = make_stack(vms=20, sessions=2, groups=[groups[0], AZLOCAL, *groups[1:]])
    hyperv.seed_site(stack.estate, DEMO_ASR_RG, DEMO_VAULT, vms=3)
    hyperv.of(stack.estate).add_plan(DEMO_ASR_RG, DEMO_VAULT, "rp-azlocal-02", "azl-weu-02", ["vm-azl-b001"])
    return stack


class TestAzureLocalFailback:
    def test_failover_then_failback_after_a_cluster_is_lost(self, make_stack: Any) -> None:
        stack = with_azure_local(make_stack)
        failover = approve_and_finish(stack, str(post_alert(stack).json()["instance_id"]))
        assert failover["status"] == "Completed", failover["errors"]
        assert failover["restored_vms"] == []

        hyperv.of(stack.estate).lose_cluster("azl-weu-01")  # the site's first cluster did not survive the outage
        started = stack.http.post(f"{stack.api_url}/api/failbacks", json={"plan": "demo"}, timeout=30)
        assert started.status_code == 202, started.text
        instance_id = started.json()["instance_id"]
        back = approve_and_finish(stack, instance_id)
        assert back["status"] == "Completed", back["errors"]

        # the simulator's record of what it received: HyperVReplicaAzure to Azure, HyperVReplicaAzureFailback back
        site = hyperv.of(stack.estate).snapshot()
        by_plan: dict[str, list[tuple[Any, ...]]] = {}
        for r in site["received"]:
            by_plan.setdefault(r["plan"], []).append((r["scenario"], r["direction"], r["inputs"]))
        failback_input = {
            "instanceType": "HyperVReplicaAzureFailback",
            "dataSyncOption": "ForSynchronization",
            "recoveryVmCreationOption": "CreateVmIfNotFound",
        }
        to_azure = {"instanceType": "HyperVReplicaAzure", "recoveryPointType": "Latest"}
        for plan in ("rp-azlocal-01", "rp-azlocal-02"):
            assert by_plan[plan] == [
                ("UnplannedFailover", "PrimaryToRecovery", [to_azure]),
                ("PlannedFailover", "RecoveryToPrimary", [failback_input]),
            ]
        # the A2A plans got A2A inputs as before (a Hyper-V input would have been refused), all back and protected
        states = {p["name"]: (p["state"], p["active_location"]) for p in stack.estate.snapshot()["recovery_plans"]}
        assert set(states.values()) == {("Protected", "Primary")}, states
        # where the simulator brought them back: the lost cluster's VMs on the other cluster's first host
        assert site["vms"]["vm-azl-0001"] == {"cluster": "azl-weu-02", "host": "azl-weu-02-n1", "present": True}
        assert sorted(m["vm"] for m in site["alternate_restores"]) == ["vm-azl-0001", "vm-azl-0002", "vm-azl-0003"]

        restored = {vm["name"]: vm for vm in back["restored_vms"]}
        assert sorted(restored) == ["vm-azl-0001", "vm-azl-0002", "vm-azl-0003", "vm-azl-b001"]
        moved = restored["vm-azl-0002"]
        assert (moved["in_place"], moved["original_cluster"], moved["cluster"]) == (False, "azl-weu-01", "azl-weu-02")
        stayed = restored["vm-azl-b001"]
        assert stayed["in_place"] is True and 0 < stayed["arc_days_left"] < 45
        assert any("3 Azure Local VM(s) came back on another cluster" in w for w in back["warnings"])

        report = stack.http.get(f"{stack.api_url}/api/failovers/{instance_id}/report", timeout=30)
        assert report.status_code == 200
        page = report.text
        assert "Azure Local VMs restored on another cluster" in page and "vm-azl-0003" in page
        assert "register it on azl-weu-02" in page and "of 45 days" in page
