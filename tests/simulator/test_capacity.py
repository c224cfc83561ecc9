"""Recovery capacity in the simulator: the Compute and Network usages and resource SKUs read through the real SDK
clients, and a (test) failover job into the recovery region that the region's quota or capacity cannot hold fails
per VM the way Azure reports it (`OperationNotAllowed` with the quota message, `AllocationFailed`); usage grows as
VMs come up and shrinks on a test failover's cleanup."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient

from failover.clients import SimulatorCredential
from simulator import Estate, EstateConfig, Simulator, seed_demo_estate
from simulator.estate import DEMO_ASR_RG, DEMO_VAULT, RECOVERY_REGION, SUBSCRIPTION_ID
from tests.simulator.test_asr_drills import drill_body, failover_body

FAMILY = "standardDSv5Family"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    running = Simulator(seed_demo_estate(Estate(EstateConfig(time_scale=1)), vms=10, sessions=2)).start()
    yield running
    running.stop()


def options(sim: Simulator) -> dict[str, Any]:
    return {"base_url": sim.url, "connection_verify": sim.ca_bundle, "polling_interval": 0.05}


def usages(sim: Simulator) -> dict[str, Any]:
    client = ComputeManagementClient(SimulatorCredential(), SUBSCRIPTION_ID, **options(sim))
    return {u.name.value: u for u in client.usage.list(RECOVERY_REGION)}


def run_job(sim: Simulator, start: Any) -> Any:
    """Start an ASR job through the estate, make it due, and read it back through the SDK."""
    job = start()
    sim.estate.finish_running_jobs()
    client = SiteRecoveryManagementClient(SimulatorCredential(), SUBSCRIPTION_ID, **options(sim))
    return client.replication_jobs.get(DEMO_ASR_RG, DEMO_VAULT, job.name).properties


class TestReads:
    def test_usages_and_skus_through_the_sdk(self, sim: Simulator) -> None:
        compute = usages(sim)
        assert compute["cores"].name.localized_value == "Total Regional vCPUs"
        assert compute["cores"].current_value == 32 and compute[FAMILY].current_value == 32  # 4 standby D8s_v5
        assert compute["virtualMachines"].current_value == 4 and compute["virtualMachines"].limit == 25_000
        sim.estate.capacity.set_quota(RECOVERY_REGION, FAMILY, limit=48, usage=8)
        assert usages(sim)[FAMILY].limit == 48 and usages(sim)[FAMILY].current_value == 40
        client = ComputeManagementClient(SimulatorCredential(), SUBSCRIPTION_ID, **options(sim))
        skus = {s.name: s for s in client.resource_skus.list(filter=f"location eq '{RECOVERY_REGION}'")}
        d4 = skus["Standard_D4s_v5"]
        assert d4.family == FAMILY and d4.locations == [RECOVERY_REGION]
        assert {c.name: c.value for c in d4.capabilities or []}["vCPUs"] == "4"
        network = NetworkManagementClient(SimulatorCredential(), SUBSCRIPTION_ID, **options(sim))
        ips = {u.name.value: u for u in network.usages.list(RECOVERY_REGION)}["PublicIPAddresses"]
        assert ips.current_value == 0 and ips.limit == 1000 and ips.id.endswith("/usages/PublicIPAddresses")

    def test_protected_items_carry_the_recovery_size_and_public_ip(self, sim: Simulator) -> None:
        sim.estate.set_vm_size("Standard_E8s_v5", "vm-dc-0001")
        sim.estate.set_public_ip("vm-dc-0001")
        client = SiteRecoveryManagementClient(SimulatorCredential(), SUBSCRIPTION_ID, **options(sim))
        items = {i.name: i.properties.provider_specific_details for i in client.replication_protected_items.list(
            DEMO_ASR_RG, DEMO_VAULT)}  # fmt: skip
        dc, other = items["vm-dc-0001"], items["vm-dc-0002"]
        assert dc.recovery_azure_vm_size == "Standard_E8s_v5" and other.recovery_azure_vm_size == "Standard_D4s_v5"
        assert dc.vm_nics[0].ip_configs[0].recovery_public_ip_address_id.endswith("/publicIPAddresses/vm-dc-0001-pip")
        assert other.vm_nics[0].ip_configs[0].recovery_public_ip_address_id is None
        with pytest.raises(KeyError):
            sim.estate.set_public_ip("vm-nobody")


class TestJobs:
    def test_a_failover_within_quota_brings_its_vms_up(self, sim: Simulator) -> None:
        job = run_job(sim, lambda: sim.estate.start_failover(
            DEMO_ASR_RG, DEMO_VAULT, "rp-identity", "UnplannedFailover", failover_body()))  # fmt: skip
        assert job.state == "Succeeded"
        assert usages(sim)["cores"].current_value == 32 + 4 * 4 and usages(sim)["virtualMachines"].current_value == 8

    def test_a_quota_shortfall_fails_the_job_per_vm(self, sim: Simulator) -> None:
        sim.estate.capacity.set_quota(RECOVERY_REGION, FAMILY, limit=32 + 8)  # two of rp-identity's four D4s_v5
        job = run_job(sim, lambda: sim.estate.start_failover(
            DEMO_ASR_RG, DEMO_VAULT, "rp-identity", "PlannedFailover", failover_body()))  # fmt: skip
        assert job.state == "Failed"
        errors = [e.service_error_details for e in job.errors or []]
        assert [e.code for e in errors] == ["OperationNotAllowed", "OperationNotAllowed"]
        assert errors[0].message == (
            "The virtual machine 'vm-dc-0003' could not be created in the recovery region: Operation results in "
            f"exceeding quota limits of {FAMILY} Cores. Maximum allowed: 40, Current in use: 40, Additional "
            "requested: 4."
        )
        plan = sim.estate.recovery_plan(DEMO_ASR_RG, DEMO_VAULT, "rp-identity")
        assert plan.state == "Protected"  # none of its VMs came up
        assert usages(sim)[FAMILY].current_value == 32
        state = requests.get(f"{sim.url}/_sim/capacity", verify=sim.ca_bundle, timeout=10).json()
        assert state["quota_failures"] == 2 and state["usages"][FAMILY] == {"current": 32, "limit": 40}

    def test_regional_vcpus_vm_count_and_public_ips_bind_too(self, sim: Simulator) -> None:
        sim.estate.capacity.set_quota(RECOVERY_REGION, "PublicIPAddresses", limit=1, usage=1)
        sim.estate.set_public_ip("vm-dc-0002")
        job = run_job(sim, lambda: sim.estate.start_failover(
            DEMO_ASR_RG, DEMO_VAULT, "rp-identity", "UnplannedFailover", failover_body()))  # fmt: skip
        (error,) = [e.service_error_details for e in job.errors or []]
        assert "'vm-dc-0002'" in error.message and "quota limits of Public IP Addresses" in error.message
        sim.estate.capacity.set_quota(RECOVERY_REGION, "PublicIPAddresses", usage=0)
        sim.estate.capacity.set_quota(RECOVERY_REGION, "cores", limit=32 + 4)
        job = run_job(sim, lambda: sim.estate.start_failover(
            DEMO_ASR_RG, DEMO_VAULT, "rp-identity", "UnplannedFailover", failover_body()))  # fmt: skip
        assert [e.service_error_details.message.split("limits of ")[1][:5] for e in job.errors or []] == ["Core."] * 3

    def test_allocation_failed_for_a_sold_out_size(self, sim: Simulator) -> None:
        sim.estate.set_vm_size("Standard_E8s_v5", "vm-dc-0004")
        sim.estate.capacity.set_sold_out(RECOVERY_REGION, "Standard_E8s_v5")
        job = run_job(sim, lambda: sim.estate.start_test_failover(DEMO_ASR_RG, DEMO_VAULT, "rp-identity", drill_body()))
        (error,) = [e.service_error_details for e in job.errors or []]
        assert error.code == "AllocationFailed" and "'vm-dc-0004'" in error.message
        assert "We do not have sufficient capacity for the requested VM size in this region" in error.message

    def test_a_test_failover_counts_until_its_cleanup(self, sim: Simulator) -> None:
        job = run_job(sim, lambda: sim.estate.start_test_failover(DEMO_ASR_RG, DEMO_VAULT, "rp-identity", drill_body()))
        assert job.state == "Succeeded" and usages(sim)["virtualMachines"].current_value == 8
        cleanup = run_job(sim, lambda: sim.estate.site_recovery.start_test_failover_cleanup(
            DEMO_ASR_RG, DEMO_VAULT, "rp-identity", {"properties": {"comments": "done"}}))  # fmt: skip
        assert cleanup.state == "Succeeded" and usages(sim)["virtualMachines"].current_value == 4
