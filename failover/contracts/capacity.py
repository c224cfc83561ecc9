"""Contracts of the recovery capacity check (activities/capacity.py): what the plan's recovery plans will start in
the recovery region against that region's quotas and usage."""

from __future__ import annotations

from pydantic import Field

from failover.contracts import ActivityInput, Contract, NonEmpty
from failover.contracts.asr import VaultInput
from failover.plan import Plan


class SessionHostNeed(Contract):
    """The session hosts `recovery: provision` builds for one host pool in the recovery region: how many, and their
    size (`provision.vm_size`; None: the size of the host pool's vmTemplate, read by the check)."""

    subscription_id: NonEmpty
    resource_group: NonEmpty
    host_pool: NonEmpty
    count: int = Field(ge=1)
    vm_size: str | None = None


def session_host_needs(plan: Plan) -> list[SessionHostNeed]:
    """The plan's `recovery: provision` pools, as the capacity check counts them."""
    return [
        SessionHostNeed(**plan.host_pool_ref(pool), count=pool.provision.count, vm_size=pool.provision.vm_size)
        for pool in plan.avd.provisioned
        if pool.provision is not None
    ]


class CapacityInput(VaultInput):
    """`capacity_check`: the recovery plans about to fail over, the session hosts the run will build
    (`recovery: provision`), and the region their VMs come up in."""

    recovery_plans: list[NonEmpty]
    recovery_region: NonEmpty
    session_hosts: list[SessionHostNeed] = []


class CapacityRow(Contract):
    """One quota of the recovery region: what the recovery plans need of it against what is left."""

    quota: str  # the usage name: cores, virtualMachines, standardDSv5Family, PublicIPAddresses, ...
    name: str  # its localized name ("Total Regional vCPUs", "Standard DSv5 Family vCPUs", ...)
    needed: int
    current: int
    limit: int
    available: int  # limit - current (never below 0)
    shortfall: int  # needed - available (0 when it fits)


class ReservationRow(Contract):
    """One capacity reservation group, VM size and availability zone the recovery VMs name (ASR's
    `recoveryCapacityReservationGroupId`, `recoveryAzureVMSize` and `recoveryAvailabilityZone`): the reserved slots
    free in that zone (regional ones for VMs of no zone) against the VMs that will take them."""

    group: str  # the group's name
    group_id: str
    size: str  # the VMs' recovery size
    zone: str | None = None  # their recovery availability zone (None: regional VMs, served by regional reservations)
    reserved: int  # the group's reservations of that size in the recovery region (utilizationInfo.currentCapacity)
    allocated: int  # VMs already allocated against them
    free: int  # reserved - allocated (never below 0)
    vms: int  # recovery VMs of that size that name the group
    covered: int  # of them, those a free slot holds (their vCPUs are not in the quota rows' `needed`)
    shortfall: int  # vms - covered: beyond the reservation, they need quota like any VM

    @property
    def label(self) -> str:
        """`group/size`, and `/zone N` for the VMs of one availability zone."""
        return f"{self.group}/{self.size}" + (f"/zone {self.zone}" if self.zone else "")


class CapacityResult(Contract):
    """Per quota (regional vCPUs, VM count, each VM family's vCPUs, public IPs) what the plans will start in the
    recovery region against its quota and usage; `shortfall` > 0 where it does not fit."""

    region: str
    vms: int
    rows: list[CapacityRow]
    unknown_sizes: list[str] = []  # recovery VM sizes the region's SKU list does not offer
    reserved: int = 0  # VMs a capacity reservation's free slot holds (their vCPUs are not counted in `rows`)
    reservations: list[ReservationRow] = []  # per capacity reservation group and size the VMs name
    session_hosts: int = 0  # of `vms` and the rows: the session hosts `recovery: provision` builds

    @property
    def short(self) -> list[CapacityRow]:
        return [r for r in self.rows if r.shortfall > 0]


class PlanRecoveryPlans(Contract):
    """One plan of an evacuation in a region's check: its vault, the recovery plans it will fail over, and the
    session hosts its `recovery: provision` pools build there."""

    plan: NonEmpty
    subscription_id: NonEmpty
    resource_group: NonEmpty
    vault: NonEmpty
    recovery_plans: list[NonEmpty]
    session_hosts: list[SessionHostNeed] = []


class RegionCapacityInput(ActivityInput):
    """`capacity_check_region`: every plan of an evacuation whose VMs come up in one region of one subscription,
    checked together (`failover.evacuation_capacity.regions`)."""

    subscription_id: NonEmpty
    region: NonEmpty
    plans: list[PlanRecoveryPlans] = Field(min_length=1)


class PlanNeeds(Contract):
    """One plan's part of a region's need: its VMs (with its session hosts) and, per quota, what they need before
    the capacity reservations (their free slots are shared by every plan naming the group: the region's `reserved`
    and `reservations` take them out of the sum, not of each plan's part)."""

    plan: str
    vms: int
    needed: dict[str, int]
    session_hosts: int = 0


class RegionCapacityResult(CapacityResult):
    """The plans' needs summed per quota (`rows`: the region's quota against them all), and each plan's part."""

    subscription_id: str
    plans: list[PlanNeeds] = []
