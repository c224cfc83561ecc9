"""Capacity reservations in the simulator, read through the real azure-mgmt-compute client: groups listed by
subscription and resource group, a group and a reservation read with their instance view (`utilizationInfo`), the
reservations of a group listed; a reservation's vCPUs count in the region's usage. A failover job's VM whose
`recoveryCapacityReservationGroupId` names a group with a free slot of its size comes up in it (no vCPU quota, no
AllocationFailed); beyond the reserved count it needs quota like any VM."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient

from failover.clients import SimulatorCredential
from simulator import Estate, EstateConfig, Simulator, seed_demo_estate
from simulator.estate import DEMO_ASR_RG, DEMO_VAULT, RECOVERY_REGION, SUBSCRIPTION_ID
from tests.simulator.test_asr_drills import drill_body, failover_body
from tests.simulator.test_capacity import options, run_job, usages

FAMILY = "standardDSv5Family"
IDENTITY = ("vm-dc-0001", "vm-dc-0002", "vm-dc-0003", "vm-dc-0004")  # rp-identity: four Standard_D4s_v5


@pytest.fixture
def sim() -> Iterator[Simulator]:
    running = Simulator(seed_demo_estate(Estate(EstateConfig(time_scale=1)), vms=10, sessions=2)).start()
    yield running
    running.stop()


def compute(sim: Simulator) -> ComputeManagementClient:
    return ComputeManagementClient(SimulatorCredential(), SUBSCRIPTION_ID, **options(sim))


def no_free_vcpus(sim: Simulator) -> None:
    """The recovery region's DSv5 family quota is all used (the reservations' vCPUs and the standby hosts')."""
    used = usages(sim)[FAMILY].current_value
    sim.estate.capacity.set_quota(RECOVERY_REGION, FAMILY, limit=used)


def failover(sim: Simulator) -> object:
    return run_job(sim, lambda: sim.estate.start_failover(
        DEMO_ASR_RG, DEMO_VAULT, "rp-identity", "UnplannedFailover", failover_body()))  # fmt: skip


class TestReads:
    def test_groups_and_reservations_through_the_sdk(self, sim: Simulator) -> None:
        group_id = sim.estate.capacity.reserve("rg-dr-neu", "crg-neu", "crg-d4", "Standard_D4s_v5", 4)
        sim.estate.capacity.reserve("rg-dr-neu", "crg-neu", "crg-e8", "Standard_E8s_v5", 1)
        sim.estate.capacity.reserve("rg-other", "crg-other", "crg-d2", "Standard_D2s_v5", 2)
        client = compute(sim)
        every = {g.id for g in client.capacity_reservation_groups.list_by_subscription()}
        assert group_id in every and len(every) == 2
        (only,) = client.capacity_reservation_groups.list_by_resource_group("rg-dr-neu")
        assert only.name == "crg-neu" and only.location == RECOVERY_REGION and only.instance_view is None
        assert [r.id.rsplit("/", 1)[1] for r in only.capacity_reservations or []] == ["crg-d4", "crg-e8"]
        group = client.capacity_reservation_groups.get("rg-dr-neu", "crg-neu", expand="instanceView")
        views = {v.name: v.utilization_info for v in group.instance_view.capacity_reservations or []}
        assert views["crg-d4"].current_capacity == 4 and views["crg-d4"].virtual_machines_allocated == []
        listed = {r.name: r.sku for r in client.capacity_reservations.list_by_capacity_reservation_group(
            "rg-dr-neu", "crg-neu")}  # fmt: skip
        assert (listed["crg-d4"].name, listed["crg-d4"].capacity) == ("Standard_D4s_v5", 4)
        one = client.capacity_reservations.get("rg-dr-neu", "crg-neu", "crg-e8", expand="instanceView")
        assert one.sku.name == "Standard_E8s_v5" and one.instance_view.utilization_info.current_capacity == 1
        assert one.provisioning_state == "Succeeded" and one.reservation_id
        with pytest.raises(ResourceNotFoundError):
            client.capacity_reservation_groups.get("rg-dr-neu", "crg-nowhere")
        with pytest.raises(ResourceNotFoundError):
            client.capacity_reservations.get("rg-dr-neu", "crg-neu", "crg-nothing")

    def test_a_reservation_holds_its_quota(self, sim: Simulator) -> None:
        before = usages(sim)
        sim.estate.capacity.reserve("rg-dr-neu", "crg-neu", "crg-d4", "Standard_D4s_v5", 4)
        after = usages(sim)
        assert after[FAMILY].current_value == before[FAMILY].current_value + 16
        assert after["cores"].current_value == before["cores"].current_value + 16
        assert after["virtualMachines"].current_value == before["virtualMachines"].current_value  # no VM yet

    def test_protected_items_name_their_group(self, sim: Simulator) -> None:
        group_id = sim.estate.capacity.reserve("rg-dr-neu", "crg-neu", "crg-d4", "Standard_D4s_v5", 4)
        sim.estate.set_capacity_reservation_group(group_id, "vm-dc-0001")
        client = SiteRecoveryManagementClient(SimulatorCredential(), SUBSCRIPTION_ID, **options(sim))
        items = {i.name: i.properties.provider_specific_details for i in client.replication_protected_items.list(
            DEMO_ASR_RG, DEMO_VAULT)}  # fmt: skip
        assert items["vm-dc-0001"].recovery_capacity_reservation_group_id == group_id
        assert items["vm-dc-0002"].recovery_capacity_reservation_group_id is None


class TestJobs:
    def test_reserved_vms_come_up_without_free_quota(self, sim: Simulator) -> None:
        group_id = sim.estate.capacity.reserve("rg-dr-neu", "crg-neu", "crg-d4", "Standard_D4s_v5", 4)
        sim.estate.set_capacity_reservation_group(group_id, *IDENTITY)
        no_free_vcpus(sim)
        sim.estate.capacity.set_sold_out(RECOVERY_REGION, "Standard_D4s_v5")  # reserved capacity is not sold
        used = usages(sim)
        job = failover(sim)
        assert job.state == "Succeeded", [e.service_error_details.message for e in job.errors or []]
        after = usages(sim)
        assert after[FAMILY].current_value == used[FAMILY].current_value  # the reservation held the vCPUs
        assert after["virtualMachines"].current_value == used["virtualMachines"].current_value + 4
        view = compute(sim).capacity_reservations.get("rg-dr-neu", "crg-neu", "crg-d4", expand="instanceView")
        allocated = [v.id.rsplit("/", 1)[1] for v in view.instance_view.utilization_info.virtual_machines_allocated]
        assert allocated == list(IDENTITY)

    def test_beyond_the_reserved_count_the_vms_need_quota(self, sim: Simulator) -> None:
        group_id = sim.estate.capacity.reserve("rg-dr-neu", "crg-neu", "crg-d4", "Standard_D4s_v5", 2)
        sim.estate.set_capacity_reservation_group(group_id, *IDENTITY)
        no_free_vcpus(sim)
        job = failover(sim)
        assert job.state == "Failed"
        errors = [e.service_error_details for e in job.errors or []]
        assert [e.code for e in errors] == ["OperationNotAllowed"] * 2
        assert ["'vm-dc-0003'" in errors[0].message, "'vm-dc-0004'" in errors[1].message] == [True, True]
        assert sim.estate.capacity.snapshot()["reservations"]["rg-dr-neu/crg-neu/crg-d4"]["allocated"] == 0

    def test_a_group_of_another_size_or_region_holds_nothing(self, sim: Simulator) -> None:
        other = sim.estate.capacity.reserve("rg-dr-neu", "crg-e8", "crg-e8", "Standard_E8s_v5", 4)
        sim.estate.set_capacity_reservation_group(other, *IDENTITY)
        no_free_vcpus(sim)
        assert failover(sim).state == "Failed"
        weu = sim.estate.capacity.reserve("rg-dr-weu", "crg-weu", "crg-d4", "Standard_D4s_v5", 4, region="westeurope")
        sim.estate.set_capacity_reservation_group(weu, *IDENTITY)
        assert failover(sim).state == "Failed"

    def test_a_zonal_reservation_holds_only_the_vms_of_its_zone(self, sim: Simulator) -> None:
        """A reservation in zone 1 does not hold VMs coming up in zone 2, nor VMs of no zone: they need quota."""
        group_id = sim.estate.capacity.reserve("rg-dr-neu", "crg-neu", "crg-d4-z1", "Standard_D4s_v5", 4, zone="1")
        sim.estate.set_capacity_reservation_group(group_id, *IDENTITY)
        no_free_vcpus(sim)
        assert failover(sim).state == "Failed"  # regional VMs: a zonal reservation is not theirs
        sim.estate.set_recovery_zone("2", *IDENTITY)
        assert failover(sim).state == "Failed"
        sim.estate.set_recovery_zone("1", *IDENTITY)
        job = failover(sim)
        assert job.state == "Succeeded", [e.service_error_details.message for e in job.errors or []]
        assert sim.estate.capacity.snapshot()["reservations"]["rg-dr-neu/crg-neu/crg-d4-z1"] == {
            "size": "Standard_D4s_v5", "reserved": 4, "allocated": 4, "zone": "1"}  # fmt: skip

    def test_zones_read_through_the_sdk(self, sim: Simulator) -> None:
        group_id = sim.estate.capacity.reserve("rg-dr-neu", "crg-neu", "crg-d4-z2", "Standard_D4s_v5", 2, zone="2")
        sim.estate.capacity.reserve("rg-dr-neu", "crg-neu", "crg-d4", "Standard_D4s_v5", 2)
        sim.estate.set_capacity_reservation_group(group_id, "vm-dc-0001")
        sim.estate.set_recovery_zone("2", "vm-dc-0001")
        listed = {r.name: r.zones for r in compute(sim).capacity_reservations.list_by_capacity_reservation_group(
            "rg-dr-neu", "crg-neu")}  # fmt: skip
        assert listed == {"crg-d4-z2": ["2"], "crg-d4": []}
        assert compute(sim).capacity_reservation_groups.get("rg-dr-neu", "crg-neu").zones == ["2"]
        client = SiteRecoveryManagementClient(SimulatorCredential(), SUBSCRIPTION_ID, **options(sim))
        items = {i.name: i.properties.provider_specific_details for i in client.replication_protected_items.list(
            DEMO_ASR_RG, DEMO_VAULT)}  # fmt: skip
        assert items["vm-dc-0001"].recovery_availability_zone == "2"
        assert items["vm-dc-0002"].recovery_availability_zone is None

    def test_a_test_failover_holds_its_slots_until_cleanup(self, sim: Simulator) -> None:
        group_id = sim.estate.capacity.reserve("rg-dr-neu", "crg-neu", "crg-d4", "Standard_D4s_v5", 4)
        sim.estate.set_capacity_reservation_group(group_id, *IDENTITY)
        job = run_job(sim, lambda: sim.estate.start_test_failover(DEMO_ASR_RG, DEMO_VAULT, "rp-identity", drill_body()))
        assert job.state == "Succeeded"
        held = sim.estate.capacity.snapshot()["reservations"]["rg-dr-neu/crg-neu/crg-d4"]
        assert held == {"size": "Standard_D4s_v5", "reserved": 4, "allocated": 4}
        group = compute(sim).capacity_reservation_groups.get("rg-dr-neu", "crg-neu", expand="instanceView")
        associated = [v.id.rsplit("/", 1)[1] for v in group.virtual_machines_associated or []]
        assert associated == [f"{vm}-test" for vm in IDENTITY]
        cleanup = run_job(sim, lambda: sim.estate.site_recovery.start_test_failover_cleanup(
            DEMO_ASR_RG, DEMO_VAULT, "rp-identity", {"properties": {"comments": "done"}}))  # fmt: skip
        assert cleanup.state == "Succeeded"
        assert sim.estate.capacity.snapshot()["reservations"]["rg-dr-neu/crg-neu/crg-d4"]["allocated"] == 0
