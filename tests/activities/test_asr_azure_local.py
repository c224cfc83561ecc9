"""The ASR activities on an Azure Local (HyperVReplicaAzure) recovery plan, through the real SDK against the
simulator: the provider input the simulator received, and where `asr_vm_placement` finds the VMs."""

from __future__ import annotations

from typing import Any

import pytest

from activities.asr import asr_commit, asr_reprotect, asr_start_failover, asr_vm_placement
from failover.contracts.asr import RecoveryPlanInput, ReprotectInput, StartFailoverInput, VmPlacementInput
from simulator import EstateConfig, Simulator, hyperv
from simulator.estate import DEMO_ASR_RG, DEMO_VAULT, SUBSCRIPTION_ID
from tests.activities.conftest import StartSimulator

VAULT = {"subscription_id": SUBSCRIPTION_ID, "resource_group": DEMO_ASR_RG, "vault": DEMO_VAULT}
PLAN = {**VAULT, "recovery_plan": hyperv.PLAN}
HYPER_V = {"replication_provider": "HyperVReplicaAzure"}


@pytest.fixture
def sim(start_simulator: StartSimulator) -> Simulator:
    started = start_simulator(EstateConfig(time_scale=1))
    hyperv.seed_site(started.estate, DEMO_ASR_RG, DEMO_VAULT, vms=2)
    return started


def received(sim: Simulator) -> list[tuple[Any, ...]]:
    return [(r["scenario"], r["direction"], r["inputs"]) for r in hyperv.of(sim.estate).received]


def fail_over_and_reprotect(sim: Simulator) -> None:
    asr_start_failover(StartFailoverInput(**PLAN, mode="unplanned", recovery_point_type="LatestProcessed", **HYPER_V))
    sim.estate.finish_running_jobs()
    asr_commit(RecoveryPlanInput(**PLAN))
    sim.estate.finish_running_jobs()
    asr_reprotect(ReprotectInput(**PLAN, direction="RecoveryToPrimary"))
    sim.estate.finish_running_jobs()


class TestProviderInput:
    def test_a_failover_sends_hyper_v_replica_azure_and_a_failback_its_failback_input(self, sim: Simulator) -> None:
        fail_over_and_reprotect(sim)
        back = asr_start_failover(StartFailoverInput(**PLAN, mode="failback", **HYPER_V))
        assert back.action == "started"
        assert received(sim) == [
            ("UnplannedFailover", "PrimaryToRecovery",
             [{"instanceType": "HyperVReplicaAzure", "recoveryPointType": "LatestProcessed"}]),
            ("PlannedFailover", "RecoveryToPrimary",
             [{"instanceType": "HyperVReplicaAzureFailback", "dataSyncOption": "ForSynchronization",
               "recoveryVmCreationOption": "CreateVmIfNotFound"}]),
        ]  # fmt: skip

    def test_a2a_input_is_refused_by_a_hyper_v_plan(self, sim: Simulator) -> None:
        """Without the plan's provider the activity sends A2A, which ASR (the simulator) refuses: nothing starts."""
        with pytest.raises(Exception, match="does not match recovery plan"):
            asr_start_failover(StartFailoverInput(**PLAN, mode="planned"))
        assert sim.estate.recovery_plan(DEMO_ASR_RG, DEMO_VAULT, hyperv.PLAN).state == "Protected"

    def test_a_drill_sends_hyper_v_replica_azure(self, sim: Simulator) -> None:
        asr_start_failover(
            StartFailoverInput(**PLAN, mode="test", network_type="NoNetworkAttachAsInput", **HYPER_V)
        )  # the test failover is not a failover job: the simulator records failovers and failbacks only
        assert sim.estate.recovery_plan(DEMO_ASR_RG, DEMO_VAULT, hyperv.PLAN).state == "TestFailoverInProgress"


class TestPlacement:
    def test_where_the_vms_run_before_and_after_a_failback_to_another_cluster(self, sim: Simulator) -> None:
        before = asr_vm_placement(VmPlacementInput(**VAULT, recovery_plans=[hyperv.PLAN])).vms
        assert [(v.name, v.active_location, v.cluster, v.host) for v in before] == [
            ("vm-azl-0001", "Primary", "azl-weu-01", "azl-weu-01-n1"),
            ("vm-azl-0002", "Primary", "azl-weu-01", "azl-weu-01-n2"),
        ]
        fail_over_and_reprotect(sim)
        in_azure = asr_vm_placement(VmPlacementInput(**VAULT, recovery_plans=[hyperv.PLAN])).vms
        assert {v.active_location for v in in_azure} == {"Recovery"} and all(v.last_failover_at for v in in_azure)
        hyperv.of(sim.estate).lose_cluster("azl-weu-01")
        asr_start_failover(StartFailoverInput(**PLAN, mode="failback", **HYPER_V))
        sim.estate.finish_running_jobs()
        after = asr_vm_placement(VmPlacementInput(**VAULT, recovery_plans=[hyperv.PLAN])).vms
        assert [(v.active_location, v.cluster, v.host) for v in after] == [
            ("Primary", "azl-weu-02", "azl-weu-02-n1")
        ] * 2
