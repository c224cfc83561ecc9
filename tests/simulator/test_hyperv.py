"""Azure Local (Hyper-V site to Azure, ASR `HyperVReplicaAzure`) recovery plans in the simulator: their provider
inputs are checked as ASR would (400, nothing changes), their items have the Hyper-V shape of Microsoft's example,
and a failback of VMs that are gone fails (NoAction) or brings them up on another cluster (CreateVmIfNotFound)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from simulator import Estate, EstateConfig, Simulator, hyperv, seed_demo_estate
from simulator.estate import DEMO_ASR_RG, DEMO_VAULT
from tests.conftest import REFERENCE

VAULT = (
    "/subscriptions/5d3c0f34-7a2b-4e53-9d0e-1f2a3b4c5d6e/resourceGroups/rg-dr-neu/providers/"
    "Microsoft.RecoveryServices/vaults/rsv-dr-neu"
)
AZL = VAULT + "/replicationRecoveryPlans/rp-azlocal-01"
A2A_PLAN = VAULT + "/replicationRecoveryPlans/rp-identity"
AUTH = {"Authorization": "Bearer sim"}
Q = {"api-version": "2025-08-01"}
TO_AZURE = [{"instanceType": "HyperVReplicaAzure", "recoveryPointType": "Latest"}]


def failback_input(creation: str = "CreateVmIfNotFound", sync: str = "ForSynchronization") -> list[dict[str, Any]]:
    return [
        {"instanceType": "HyperVReplicaAzureFailback", "dataSyncOption": sync, "recoveryVmCreationOption": creation}
    ]


def body(direction: str, details: list[dict[str, Any]] | None) -> dict[str, Any]:
    props: dict[str, Any] = {"failoverDirection": direction}
    if details is not None:
        props["providerSpecificDetails"] = details
    return {"properties": props}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    estate = seed_demo_estate(Estate(EstateConfig(time_scale=1)), vms=10, sessions=2)
    hyperv.seed_site(estate, DEMO_ASR_RG, DEMO_VAULT, vms=3)
    with Simulator(estate) as running:
        yield running


def post(sim: Simulator, path: str, payload: dict[str, Any] | None = None) -> requests.Response:
    return requests.post(sim.url + path, params=Q, json=payload, headers=AUTH, verify=sim.ca_bundle, timeout=10)


def get(sim: Simulator, path: str) -> dict[str, Any]:
    answer = requests.get(sim.url + path, params=Q, headers=AUTH, verify=sim.ca_bundle, timeout=10)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def step(sim: Simulator, operation: str, payload: dict[str, Any] | None = None) -> None:
    """One operation on the Azure Local plan, accepted and its job run to its end."""
    answer = post(sim, f"{AZL}/{operation}", payload)
    assert answer.status_code == 202, answer.text
    sim.estate.finish_running_jobs()


def items(sim: Simulator) -> dict[str, dict[str, Any]]:
    listed = get(sim, VAULT + "/replicationProtectedItems")["value"]
    return {i["properties"]["friendlyName"]: i["properties"] for i in listed if i["name"].startswith("vm-azl")}


def round_trip_to_failback(sim: Simulator) -> None:
    step(sim, "unplannedFailover", {**body("PrimaryToRecovery", TO_AZURE), "properties": {
        "failoverDirection": "PrimaryToRecovery", "sourceSiteOperations": "NotRequired",
        "providerSpecificDetails": TO_AZURE}})  # fmt: skip
    step(sim, "failoverCommit")
    step(sim, "reProtect")


class TestShapes:
    def test_the_plan_and_its_items_are_hyper_v_site_ones(self, sim: Simulator) -> None:
        """As ReplicationRecoveryPlans_PlannedFailover and ReplicationProtectedItems_Get show a Hyper-V site's."""
        plan = get(sim, AZL)["properties"]
        assert plan["replicationProviders"] == ["HyperVReplicaAzure"]
        assert plan["recoveryFabricId"] == "Microsoft Azure" and plan["primaryFabricFriendlyName"] == hyperv.SITE
        ref = plan["groups"][2]["replicationProtectedItems"][0]["id"]
        item = get(sim, ref)
        example = json.loads((REFERENCE / "rest-examples/asr/ReplicationProtectedItems_Get.json").read_text())
        documented = example["responses"]["200"]["body"]["properties"]
        assert set(documented) <= set(item["properties"]), set(documented) - set(item["properties"])
        props = item["properties"]
        assert props["protectedItemType"] == documented["protectedItemType"] == "HyperVVirtualMachine"
        assert props["providerSpecificDetails"]["instanceType"] == "HyperVReplicaAzure"
        assert props["recoveryServicesProviderId"].endswith("/replicationRecoveryServicesProviders/azl-weu-01-n1")
        assert props["providerSpecificDetails"][hyperv.CLUSTER_KEY] == "azl-weu-01"


class TestProviderInputs:
    @pytest.mark.parametrize(
        ("plan", "direction", "details", "expected"),
        [
            (AZL, "PrimaryToRecovery", [{"instanceType": "A2A", "recoveryPointType": "Latest"}], "HyperVReplicaAzure"),
            (A2A_PLAN, "PrimaryToRecovery", TO_AZURE, "A2A"),
            (AZL, "PrimaryToRecovery", failback_input(), "HyperVReplicaAzure"),
        ],
    )
    def test_an_input_of_another_provider_is_a_400_and_changes_nothing(
        self, sim: Simulator, plan: str, direction: str, details: list[dict[str, Any]], expected: str
    ) -> None:
        answer = post(sim, f"{plan}/plannedFailover", body(direction, details))
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["code"] == "InvalidProviderSpecificInput" and expected in error["message"], error
        assert error["recommendedAction"]
        assert all(p.state == "Protected" and p.failover_calls == 0 for p in sim.estate.recovery_plans.values())

    def test_a_test_failover_is_checked_too(self, sim: Simulator) -> None:
        drill = body("PrimaryToRecovery", [{"instanceType": "A2A"}])
        drill["properties"].update(networkType="NoNetworkAttachAsInput")
        assert post(sim, f"{AZL}/testFailover", drill).status_code == 400
        drill["properties"]["providerSpecificDetails"] = TO_AZURE
        assert post(sim, f"{AZL}/testFailover", drill).status_code == 202

    def test_a_failback_needs_the_failback_input_with_both_options(self, sim: Simulator) -> None:
        round_trip_to_failback(sim)
        for details in (
            TO_AZURE,
            None,
            [{"instanceType": "HyperVReplicaAzureFailback", "dataSyncOption": "ForSynchronization"}],
        ):
            answer = post(sim, f"{AZL}/plannedFailover", body("RecoveryToPrimary", details))
            assert answer.status_code == 400, (details, answer.text)
        assert sim.estate.recovery_plan(DEMO_ASR_RG, DEMO_VAULT, "rp-azlocal-01").state == "Reprotected"
        step(sim, "plannedFailover", body("RecoveryToPrimary", failback_input()))
        assert {p["activeLocation"] for p in items(sim).values()} == {"Primary"}
        received = hyperv.of(sim.estate).snapshot()["received"]
        assert [(r["scenario"], r["direction"], r["inputs"][0]["instanceType"]) for r in received] == [
            ("UnplannedFailover", "PrimaryToRecovery", "HyperVReplicaAzure"),
            ("PlannedFailover", "RecoveryToPrimary", "HyperVReplicaAzureFailback"),
        ]


class TestFailbackPlacement:
    def test_in_place_when_the_cluster_is_there(self, sim: Simulator) -> None:
        round_trip_to_failback(sim)
        step(sim, "plannedFailover", body("RecoveryToPrimary", failback_input()))
        clusters = {name: p["providerSpecificDetails"][hyperv.CLUSTER_KEY] for name, p in items(sim).items()}
        assert set(clusters.values()) == {"azl-weu-01"}
        assert hyperv.of(sim.estate).alternate_restores == []

    def test_a_lost_cluster_comes_back_on_the_other_one_with_create_vm_if_not_found(self, sim: Simulator) -> None:
        round_trip_to_failback(sim)
        hyperv.of(sim.estate).lose_cluster("azl-weu-01")
        step(sim, "plannedFailover", body("RecoveryToPrimary", failback_input("CreateVmIfNotFound")))
        after = items(sim)
        assert {p["activeLocation"] for p in after.values()} == {"Primary"}
        assert {p["providerSpecificDetails"][hyperv.CLUSTER_KEY] for p in after.values()} == {"azl-weu-02"}
        assert all(p["recoveryServicesProviderId"].endswith("/azl-weu-02-n1") for p in after.values())
        moved = hyperv.of(sim.estate).alternate_restores
        assert sorted(m["vm"] for m in moved) == ["vm-azl-0001", "vm-azl-0002", "vm-azl-0003"]

    def test_a_lost_cluster_fails_the_failback_with_no_action(self, sim: Simulator) -> None:
        round_trip_to_failback(sim)
        hyperv.of(sim.estate).lose_cluster("azl-weu-01")
        step(sim, "plannedFailover", body("RecoveryToPrimary", failback_input("NoAction")))
        sim.estate.refresh_jobs()
        jobs = [j for j in sim.estate.jobs.values() if j.plan_name == "rp-azlocal-01"]
        failback = jobs[-1]
        assert failback.state == "Failed" and "were not found" in failback.errors[0]["serviceErrorDetails"]["message"]
        assert {p["activeLocation"] for p in items(sim).values()} == {"Recovery"}

    def test_a_deleted_vm_is_created_again_on_its_own_cluster(self, sim: Simulator) -> None:
        round_trip_to_failback(sim)
        hyperv.of(sim.estate).delete_vm("vm-azl-0002")
        step(sim, "plannedFailover", body("RecoveryToPrimary", failback_input()))
        assert items(sim)["vm-azl-0002"]["providerSpecificDetails"][hyperv.CLUSTER_KEY] == "azl-weu-01"
        assert [m["vm"] for m in hyperv.of(sim.estate).alternate_restores] == ["vm-azl-0002"]
