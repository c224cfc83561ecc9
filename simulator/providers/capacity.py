"""Recovery capacity: a region's quotas and usage (Microsoft.Compute `locations/{location}/usages` 2026-04-01,
Microsoft.Network `locations/{location}/usages` 2026-03-01), the resource SKUs (Microsoft.Compute `skus`
2021-07-01: family and vCPUs of each VM size), and what a failover job brings up against them.

State (`Capacity`): per region, quota limits and a base usage (settable: `set_quota`), the VM sizes or families a
region has no capacity for (`sold_out`: AllocationFailed), and what the recovery plans' jobs brought up there
(`allocations`, by recovery plan and kind: `failover`, `test`), and the capacity reservation groups
(`reservations`, `simulator.providers.reservations`). A region's usage is its base usage, plus Compute's VMs there
(allocated or deallocated, as Azure counts vCPU quota), plus the allocations, plus each capacity reservation's
vCPUs (a reservation holds its quota, used or not; a VM in one of its slots adds none of its own).

ASR calls `job_finishing` (`SiteRecovery.capacity`) before a failover or test failover job into the recovery
region ends: every VM of the plan must fit the regional vCPU quota (`cores`), its family's vCPU quota, the VM count
(`virtualMachines`) and, with a public IP on its recovery NIC, `PublicIPAddresses`; a VM whose
`recoveryCapacityReservationGroupId` names a group with a free slot of its size takes the slot instead of vCPU quota
(and is never refused for capacity), counting only as a VM and a public IP. A VM that does not fit gets
one job error (`OperationNotAllowed` with the quota message Azure Resource Manager gives, or `AllocationFailed`),
and then none of the plan's VMs come up (the job fails, the plan stays where it was). `job_finished` releases a
test failover's VMs on its cleanup and a failover's on the commit of its failback.

Shapes follow Microsoft's REST examples `Usage_List_MinimumSet_Gen` (Compute), `UsageList` (Network) and
`ListAvailableResourceSkusForARegion` (`tests/reference/rest-examples/`).
"""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from simulator.arm import PRIMARY_REGION, RECOVERY_REGION, SUBSCRIPTION_ID, RouteTable, iso, locations, utcnow
from simulator.providers import reservations as crg

COMPUTE_API_VERSION = "2026-04-01"  # azure-mgmt-compute 39.0.0 usage.list (examples: 2025-04-01)
NETWORK_API_VERSION = "2026-03-01"  # azure-mgmt-network 33.1.0 usages.list (examples: 2024-07-01)
SKUS_API_VERSION = "2021-07-01"

CORES = "cores"  # Total Regional vCPUs
VIRTUAL_MACHINES = "virtualMachines"
PUBLIC_IPS = "PublicIPAddresses"
DEFAULT_VM_SIZE = "Standard_D4s_v5"

# The SKU catalogue: VM size -> (quota family, vCPUs), as Microsoft.Compute/skus reports them.
SKUS: dict[str, tuple[str, int]] = {
    "Standard_B2ms": ("standardBSFamily", 2),
    "Standard_D2s_v5": ("standardDSv5Family", 2),
    "Standard_D4s_v5": ("standardDSv5Family", 4),
    "Standard_D8s_v5": ("standardDSv5Family", 8),
    "Standard_D16s_v5": ("standardDSv5Family", 16),
    "Standard_E4s_v5": ("standardESv5Family", 4),
    "Standard_E8s_v5": ("standardESv5Family", 8),
    "Standard_E16s_v5": ("standardESv5Family", 16),
    "Standard_F4s_v2": ("standardFSv2Family", 4),
}
# Each usage's localized name, as Azure lists them.
LOCALIZED = {
    "availabilitySets": "Availability Sets",
    CORES: "Total Regional vCPUs",
    VIRTUAL_MACHINES: "Virtual Machines",
    "virtualMachineScaleSets": "Virtual Machine Scale Sets",
    "standardBSFamily": "Standard BS Family vCPUs",
    "standardDSv5Family": "Standard DSv5 Family vCPUs",
    "standardESv5Family": "Standard ESv5 Family vCPUs",
    "standardFSv2Family": "Standard FSv2 Family vCPUs",
    "VirtualNetworks": "Virtual Networks",
    "StaticPublicIPAddresses": "Static Public IP Addresses",
    "NetworkSecurityGroups": "Network Security Groups",
    PUBLIC_IPS: "Public IP Addresses",
    "NetworkInterfaces": "Network Interfaces",
    "LoadBalancers": "Load Balancers",
}
COMPUTE_USAGES = ("availabilitySets", CORES, VIRTUAL_MACHINES, "virtualMachineScaleSets",
                  *sorted({family for family, _ in SKUS.values()}))  # fmt: skip
NETWORK_USAGES = ("VirtualNetworks", "StaticPublicIPAddresses", "NetworkSecurityGroups", PUBLIC_IPS,
                  "NetworkInterfaces", "LoadBalancers")  # fmt: skip
# Default limits: high enough that no run of the demo or the benchmarks meets them (a test sets a low one).
DEFAULT_LIMITS = {CORES: 100_000, VIRTUAL_MACHINES: 25_000, "availabilitySets": 2_500, "virtualMachineScaleSets": 2_500,
                  PUBLIC_IPS: 1_000, "StaticPublicIPAddresses": 1_000, "VirtualNetworks": 1_000,
                  "NetworkSecurityGroups": 5_000, "NetworkInterfaces": 65_536, "LoadBalancers": 1_000}  # fmt: skip
DEFAULT_FAMILY_LIMIT = 100_000
# Azure Resource Manager's quota error (learn.microsoft.com/azure/azure-resource-manager/templates/error-resource-quota)
QUOTA_MESSAGE = (
    "Operation results in exceeding quota limits of {what}. Maximum allowed: {limit}, Current in use: {used}, "
    "Additional requested: {requested}."
)
# learn.microsoft.com/troubleshoot/azure/virtual-machines/windows/allocation-failure
ALLOCATION_MESSAGE = (
    "Allocation failed. We do not have sufficient capacity for the requested VM size in this region. Read more "
    "about improving likelihood of allocation success at http://aka.ms/allocation-guidance"
)


class Item(Protocol):
    vm_name: str
    size: str
    public_ip: bool
    capacity_reservation_group: str | None
    recovery_zone: str


class Plan(Protocol):
    name: str
    resource_group: str
    vault: str
    active_location: str

    @property
    def items(self) -> list[Any]: ...


class JobLike(Protocol):
    name: str
    scenario: str
    direction: str | None
    state: str


class Vm(Protocol):
    location: str
    size: str


@dataclass
class Allocation:
    region: str
    vms: list[tuple[str, str, bool]] = field(default_factory=list)  # (VM name, size, public IP)
    slots: dict[str, crg.Slot] = field(default_factory=dict)  # VM name -> the capacity reservation slot it holds


def recovery_vm_id(vm: str, kind: str) -> str:
    """The id of the VM a (test) failover brings up (ASR's `recoveryAzureVMName`, `tfoAzureVMName`)."""
    name = f"{vm}-test" if kind == "test" else vm
    rg = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-workloads-neu"
    return f"{rg}/providers/Microsoft.Compute/virtualMachines/{name}"


def family_of(size: str) -> tuple[str, int]:
    """A size's quota family and vCPUs; a size outside the catalogue counts as a DSv5 VM of 4 vCPUs."""
    return SKUS.get(size, SKUS[DEFAULT_VM_SIZE])


class Capacity:
    """Quotas, usage and allocation failures of the estate's regions. `vms` reads Compute's VMs (they count)."""

    def __init__(self, lock: AbstractContextManager[Any], vms: Any) -> None:
        self.lock = lock
        self.vms = vms  # () -> iterable of Compute VMs (location, size)
        self.limits: dict[str, dict[str, int]] = {}  # region -> usage name -> limit (else the default)
        self.base: dict[str, dict[str, int]] = {}  # region -> usage name -> usage not modelled as a resource
        self.sold_out: dict[str, set[str]] = {}  # region -> VM sizes or families: AllocationFailed
        self.restricted: dict[str, dict[str, str]] = {}  # region -> VM size (lower case) -> the SKU's reasonCode
        self.allocations: dict[tuple[str, str, str, str], Allocation] = {}  # (rg, vault, plan, failover|test)
        self.quota_failures = 0  # VMs refused for quota or capacity
        self.reservations = crg.Reservations(lock)  # capacity reservation groups

    # ---- settings (tests, the demo) ------------------------------------------------------------------------
    def set_quota(self, region: str, name: str, limit: int | None = None, usage: int | None = None) -> None:
        """Set a region's limit and/or base usage of one quota (`cores`, `standardDSv5Family`, ...)."""
        with self.lock:
            if limit is not None:
                self.limits.setdefault(region.lower(), {})[name] = limit
            if usage is not None:
                self.base.setdefault(region.lower(), {})[name] = usage

    def reserve(
        self,
        resource_group: str,
        group: str,
        reservation: str,
        size: str,
        count: int,
        region: str = RECOVERY_REGION,
        zone: str = "",
    ) -> str:
        """A capacity reservation of `count` VMs of `size` in a group (created if new) in `region`, in availability
        zone `zone` ("": regional). Returns the group's id (for `Estate.set_capacity_reservation_group`)."""
        return self.reservations.add(resource_group, group, reservation, size, count, region, zone)

    def set_sold_out(self, region: str, *sizes_or_families: str) -> None:
        """The region has no capacity left for these VM sizes or families: their VMs fail with AllocationFailed."""
        with self.lock:
            self.sold_out.setdefault(region.lower(), set()).update(sizes_or_families)

    def set_restricted(self, region: str, *sizes: str, reason: str = "NotAvailableForSubscription") -> None:
        """The resource SKUs list these sizes with a `Location` restriction in the region (`reasonCode`
        NotAvailableForSubscription or QuotaId): not offered to this subscription there."""
        with self.lock:
            self.restricted.setdefault(region.lower(), {}).update({size.lower(): reason for size in sizes})

    def restrictions(self, size: str, regions: list[str]) -> list[dict[str, Any]]:
        """A SKU's `restrictions` in the resource SKU list (ResourceSkuRestrictions: type, values, restrictionInfo,
        reasonCode), one per restricted region."""
        with self.lock:
            found = [(r, self.restricted.get(r.lower(), {}).get(size.lower())) for r in regions]
        return [
            {"type": "Location", "values": [region], "restrictionInfo": {"locations": [region]}, "reasonCode": reason}
            for region, reason in found
            if reason
        ]

    # ---- usage -------------------------------------------------------------------------------------------
    def limit(self, region: str, name: str) -> int:
        default = DEFAULT_FAMILY_LIMIT if name.endswith("Family") else DEFAULT_LIMITS.get(name, 1_000)
        return self.limits.get(region.lower(), {}).get(name, default)

    def usage(self, region: str) -> dict[str, int]:
        """Usage name -> current value in the region."""
        region = region.lower()
        with self.lock:
            used = dict.fromkeys((*COMPUTE_USAGES, *NETWORK_USAGES), 0)
            for name, value in self.base.get(region, {}).items():
                used[name] = used.get(name, 0) + value
            vms = [(vm.size, False, False) for vm in self.vms() if vm.location.lower() == region]
            vms += [(size, pip, name in a.slots) for a in self.allocations.values() if a.region == region
                    for name, size, pip in a.vms]  # fmt: skip
            for size, pip, reserved in vms:
                family, vcpus = family_of(size)
                if not reserved:  # a reserved slot's vCPUs are counted with its reservation
                    used[CORES] += vcpus
                    used[family] = used.get(family, 0) + vcpus
                used[VIRTUAL_MACHINES] += 1
                if pip:
                    used[PUBLIC_IPS] += 1
            for size, count in self.reservations.held(region):
                family, vcpus = family_of(size)
                used[CORES] += vcpus * count
                used[family] = used.get(family, 0) + vcpus * count
            return used

    # ---- ASR's jobs (SiteRecovery.capacity) ---------------------------------------------------------------
    def job_finishing(self, plan: Plan, job: JobLike) -> list[dict[str, Any]]:
        """Before a (test) failover job into the recovery region ends: bring its VMs up, or return one ASR job
        error per VM that does not fit (then none comes up)."""
        if job.scenario not in ("PlannedFailover", "UnplannedFailover", "TestFailover"):
            return []
        region = RECOVERY_REGION if job.direction != "RecoveryToPrimary" else PRIMARY_REGION
        if region != RECOVERY_REGION:  # a failback: the primary region's quota is not modelled
            return []
        kind = "test" if job.scenario == "TestFailover" else "failover"
        key = (plan.resource_group.lower(), plan.vault.lower(), plan.name.lower(), kind)
        with self.lock:
            used = self.usage(region)
            pending: dict[str, int] = {}
            taken: dict[crg.Slot, int] = {}
            errors: list[dict[str, Any]] = []
            placed: list[tuple[str, str, bool]] = []
            slots: dict[str, crg.Slot] = {}
            for item in plan.items:
                slot = self.reservations.take(
                    item.capacity_reservation_group, item.size, region, taken, item.recovery_zone
                )
                error = self._place(region, item, used, pending, reserved=slot is not None)
                if error is None:
                    placed.append((item.vm_name, item.size, item.public_ip))
                    if slot is not None:
                        slots[item.vm_name] = slot
                else:
                    errors.append(self._job_error(job, item.vm_name, *error))
            if errors:
                self.quota_failures += len(errors)
                return errors
            self.allocations[key] = Allocation(region, placed, slots)
            for vm, slot in slots.items():
                self.reservations.allocate(slot, recovery_vm_id(vm, kind))
            return []

    def _place(
        self, region: str, item: Item, used: dict[str, int], pending: dict[str, int], reserved: bool = False
    ) -> tuple[str, str] | None:
        """(code, message) when the VM does not fit; else it is counted in `pending`. A VM in a `reserved` slot is
        never refused for capacity and needs no vCPU quota (its reservation holds it)."""
        family, vcpus = family_of(item.size)
        if not reserved and {item.size, family} & self.sold_out.get(region, set()):
            return "AllocationFailed", ALLOCATION_MESSAGE
        wants = {CORES: vcpus, family: vcpus} if not reserved else {}
        wants.update({VIRTUAL_MACHINES: 1, **({PUBLIC_IPS: 1} if item.public_ip else {})})
        for name, requested in wants.items():
            limit, current = self.limit(region, name), used.get(name, 0) + pending.get(name, 0)
            if current + requested > limit:
                what = {CORES: "Core", VIRTUAL_MACHINES: "Virtual Machines", PUBLIC_IPS: "Public IP Addresses"}
                message = QUOTA_MESSAGE.format(
                    what=what.get(name, f"{family} Cores"), limit=limit, used=current, requested=requested
                )
                return "OperationNotAllowed", message
        for name, requested in wants.items():
            pending[name] = pending.get(name, 0) + requested
        return None

    @staticmethod
    def _job_error(job: JobLike, vm: str, code: str, message: str) -> dict[str, Any]:
        return {
            "serviceErrorDetails": {
                "code": code,
                "message": f"The virtual machine '{vm}' could not be created in the recovery region: {message}",
                "possibleCauses": "The recovery region's quota or capacity for the virtual machine's size ran out.",
                "recommendedAction": "Request a quota increase (or choose another size), then retry the failover.",
            },
            "errorLevel": "Error",
            "creationTime": iso(utcnow()),
            "taskId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{job.name}/{vm}")),
        }

    def job_finished(self, plan: Plan, job: JobLike) -> None:
        """After a job: a test failover's VMs go on its cleanup, a failover's on the commit of its failback."""
        if job.state != "Succeeded":
            return
        key = (plan.resource_group.lower(), plan.vault.lower(), plan.name.lower())
        with self.lock:
            kind = None
            if job.scenario == "TestFailoverCleanup":
                kind = "test"
            elif job.scenario == "CommitFailover" and plan.active_location == "Primary":
                kind = "failover"
            allocation = self.allocations.pop((*key, kind), None) if kind else None
            if kind and allocation is not None:  # its VMs are gone: so are their reserved slots
                self.reservations.release({recovery_vm_id(vm, kind): slot for vm, slot in allocation.slots.items()})

    def snapshot(self, region: str = RECOVERY_REGION) -> dict[str, Any]:
        """`GET /_sim/capacity`: the recovery region's usage and limits, and the VMs refused so far."""
        used = self.usage(region)
        return {
            "region": region,
            "usages": {name: {"current": used.get(name, 0), "limit": self.limit(region, name)} for name in used},
            "sold_out": sorted(self.sold_out.get(region, set())),
            "quota_failures": self.quota_failures,
            "allocations": {"/".join(k): len(a.vms) for k, a in self.allocations.items()},
            "reservations": self.reservations.snapshot(),
        }


# ---- HTTPS routes ----------------------------------------------------------------------------
class Routes:
    def __init__(self, capacity: Capacity) -> None:
        self.capacity = capacity

    def _usages(self, names: tuple[str, ...], region: str) -> list[tuple[str, int, int]]:
        used = self.capacity.usage(region)
        return [(name, used.get(name, 0), self.capacity.limit(region, name)) for name in names]

    async def compute_usages(self, request: web.Request, m: dict[str, str]) -> web.Response:
        """Usage_List: `{value: [{unit, currentValue, limit, name: {value, localizedValue}}]}`."""
        return web.json_response(
            {
                "value": [
                    {
                        "unit": "Count",
                        "currentValue": current,
                        "limit": limit,
                        "name": {"value": name, "localizedValue": LOCALIZED.get(name, name)},
                    }
                    for name, current, limit in self._usages(COMPUTE_USAGES, m["loc"])
                ]
            }
        )

    async def network_usages(self, request: web.Request, m: dict[str, str]) -> web.Response:
        """Usages_List (Network): each with its id, in the example's float numbers."""
        base = f"/subscriptions/{m['sub']}/providers/Microsoft.Network/locations/{m['loc']}/usages"
        return web.json_response(
            {
                "value": [
                    {
                        "currentValue": float(current),
                        "id": f"{base}/{name}",
                        "limit": float(limit),
                        "name": {"localizedValue": LOCALIZED.get(name, name), "value": name},
                        "unit": "Count",
                    }
                    for name, current, limit in self._usages(NETWORK_USAGES, m["loc"])
                ]
            }
        )

    async def skus(self, request: web.Request, m: dict[str, str]) -> web.Response:
        """ResourceSkus_List: the VM sizes of the catalogue, in every region (`$filter=location eq '...'`
        narrows the locations listed)."""
        wanted = request.query.get("$filter", "")
        region = wanted.split("'")[1] if wanted.count("'") == 2 else None
        regions = [region] if region else [PRIMARY_REGION, RECOVERY_REGION]
        return web.json_response(
            {
                "value": [
                    {
                        "resourceType": "virtualMachines",
                        "locations": regions,
                        "capabilities": [
                            {"name": "vCPUs", "value": str(vcpus)},
                            {"name": "vCPUsAvailable", "value": str(vcpus)},
                            {"name": "MemoryGB", "value": str(vcpus * (8 if "_E" in size else 4))},
                            {"name": "vCPUsPerCore", "value": "2"},
                        ],
                        "locationInfo": [{"location": r, "zones": ["1", "2", "3"]} for r in regions],
                        "restrictions": self.capacity.restrictions(size, regions),
                        "name": size,
                        "tier": "Standard",
                        "size": size.removeprefix("Standard_"),
                        "family": family,
                    }
                    for size, (family, vcpus) in SKUS.items()
                ],
                "nextLink": None,
            }
        )

    async def sim_capacity(self, request: web.Request, m: dict[str, str]) -> web.Response:
        return web.json_response(self.capacity.snapshot(request.query.get("region", RECOVERY_REGION)))


def add_routes(table: RouteTable, capacity: Capacity) -> None:
    """Register the usages, SKU and `GET /_sim/capacity` routes."""
    r = Routes(capacity)
    table.add("GET", locations("compute") + r"/usages$", "compute.usages.list", r.compute_usages)
    table.add("GET", locations("network") + r"/usages$", "network.usages.list", r.network_usages)
    table.add("GET", r"/subscriptions/(?P<sub>[^/]+)/providers/microsoft\.compute/skus$", "compute.skus.list", r.skus)
    table.add("GET", r"/_sim/capacity$", "sim.capacity", r.sim_capacity)
    crg.add_routes(table, capacity.reservations)  # capacity reservation groups and their reservations
