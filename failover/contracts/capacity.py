"""Contracts of the recovery capacity check (activities/capacity.py): what the plan's recovery plans will start in
the recovery region against that region's quotas and usage."""

from __future__ import annotations

from pydantic import Field

from failover.contracts import ActivityInput, Contract, NonEmpty
from failover.contracts.asr import VaultInput


class CapacityInput(VaultInput):
    """`capacity_check`: the recovery plans about to fail over, and the region their VMs come up in."""

    recovery_plans: list[NonEmpty]
    recovery_region: NonEmpty


class CapacityRow(Contract):
    """One quota of the recovery region: what the recovery plans need of it against what is left."""

    quota: str  # the usage name: cores, virtualMachines, standardDSv5Family, PublicIPAddresses, ...
    name: str  # its localized name ("Total Regional vCPUs", "Standard DSv5 Family vCPUs", ...)
    needed: int
    current: int
    limit: int
    available: int  # limit - current (never below 0)
    shortfall: int  # needed - available (0 when it fits)


class CapacityResult(Contract):
    """Per quota (regional vCPUs, VM count, each VM family's vCPUs, public IPs) what the plans will start in the
    recovery region against its quota and usage; `shortfall` > 0 where it does not fit."""

    region: str
    vms: int
    rows: list[CapacityRow]
    unknown_sizes: list[str] = []  # recovery VM sizes the region's SKU list does not offer

    @property
    def short(self) -> list[CapacityRow]:
        return [r for r in self.rows if r.shortfall > 0]


class PlanRecoveryPlans(Contract):
    """One plan of an evacuation in a region's check: its vault and the recovery plans it will fail over."""

    plan: NonEmpty
    subscription_id: NonEmpty
    resource_group: NonEmpty
    vault: NonEmpty
    recovery_plans: list[NonEmpty]


class RegionCapacityInput(ActivityInput):
    """`capacity_check_region`: every plan of an evacuation whose VMs come up in one region of one subscription,
    checked together (`failover.evacuation_capacity.regions`)."""

    subscription_id: NonEmpty
    region: NonEmpty
    plans: list[PlanRecoveryPlans] = Field(min_length=1)


class PlanNeeds(Contract):
    """One plan's part of a region's need: its VMs and, per quota, what they need."""

    plan: str
    vms: int
    needed: dict[str, int]


class RegionCapacityResult(CapacityResult):
    """The plans' needs summed per quota (`rows`: the region's quota against them all), and each plan's part."""

    subscription_id: str
    plans: list[PlanNeeds] = []
