"""Contracts of the recovery capacity check (activities/capacity.py): what the plan's recovery plans will start in
the recovery region against that region's quotas and usage."""

from __future__ import annotations

from failover.contracts import Contract, NonEmpty
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
