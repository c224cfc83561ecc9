"""Recovery capacity: what a plan's VMs need in the recovery region against its quotas (pure, unit tested).

`needs` adds up, per quota, the VMs the recovery plans will start: each VM's vCPUs count against the regional
vCPUs (`cores`, "Total Regional vCPUs") and against its VM family's vCPUs (the family and vCPUs of its recovery
size, from Microsoft.Compute/skus), one VM against `virtualMachines`, and a recovery NIC with a public IP against
`PublicIPAddresses` (network usages). `rows` sets each need against the region's limit and current usage.
`vm_failures` reads a failed ASR job's errors back per VM (quota `OperationNotAllowed`, `AllocationFailed`), with
the shortfall the quota message states. `verdict` turns a check into the texts a run shows (warnings or errors).

Capacity reservations (Microsoft.Compute `capacityReservationGroups`): a protected VM whose recovery settings name a
capacity reservation group (ASR's `recoveryCapacityReservationGroupId`) comes up in a reserved slot of its size,
and of its availability zone (ASR's `recoveryAvailabilityZone`; a VM of no zone: a regional reservation), when the
group has one free. A reservation holds its vCPU quota from the moment it is created (it is counted in the
region's usage already), so `reserve` takes the VMs it covers out of the vCPU needs (regional and family; they still
count as VMs and for public IPs) and reports per group, size and zone the slots free against the VMs that will use
them; the VMs beyond the free slots need quota as any other VM (Azure allows them, without the reservation's guarantee).

An evacuation's plans coming up in one region: `summed` adds their needs per quota, and `reserve` runs once over all
their VMs together (a group's free slots are shared by every plan whose VMs name it: reserving plan by plan and
adding the rows would count the same free slots once per plan).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

CORES = "cores"
VIRTUAL_MACHINES = "virtualMachines"
PUBLIC_IPS = "PublicIPAddresses"
NAMES = {CORES: "Total Regional vCPUs", VIRTUAL_MACHINES: "Virtual Machines", PUBLIC_IPS: "Public IP Addresses"}

_VM = re.compile(r"virtual machine '(?P<vm>[^']+)'", re.IGNORECASE)
_QUOTA = re.compile(
    r"quota limits of (?P<what>.+?)\. Maximum allowed: (?P<limit>\d+), Current in use: (?P<used>\d+), "
    r"Additional requested: (?P<requested>\d+)"
)


def needs(vms: Iterable[tuple[str, bool]], skus: dict[str, tuple[str, int]]) -> tuple[dict[str, int], list[str]]:
    """`vms`: (recovery size, public IP) of each VM; `skus`: lower-cased size -> (family, vCPUs). Returns quota ->
    needed (regional vCPUs, VM count, each family, public IPs last), and the sizes `skus` does not know (not counted
    in vCPUs)."""
    needed: dict[str, int] = {CORES: 0, VIRTUAL_MACHINES: 0}
    unknown: list[str] = []
    public_ips = 0
    for size, public_ip in vms:
        needed[VIRTUAL_MACHINES] += 1
        public_ips += int(public_ip)
        sku = skus.get(size.lower())
        if sku is None:
            if size not in unknown:
                unknown.append(size)
            continue
        family, vcpus = sku
        needed[CORES] += vcpus
        needed[family] = needed.get(family, 0) + vcpus
    if public_ips:
        needed[PUBLIC_IPS] = public_ips
    return needed, unknown


def rows(needed: dict[str, int], usages: dict[str, tuple[int, int, str]]) -> list[dict[str, Any]]:
    """`usages`: quota -> (current, limit, localized name) of the region. One row per needed quota: regional
    vCPUs, VM count, then the families and public IPs. A quota the region does not list has no limit known:
    its row shows limit -1 and no shortfall."""
    out = []
    for quota, need in needed.items():
        current, limit, name = usages.get(quota, (0, -1, NAMES.get(quota, quota)))
        available = max(limit - current, 0) if limit >= 0 else need
        out.append(
            {
                "quota": quota,
                "name": name,
                "needed": need,
                "current": current,
                "limit": limit,
                "available": available,
                "shortfall": max(need - available, 0),
            }
        )
    return out


def reserve(
    vms: Iterable[tuple[str, bool, str | None, str]],
    slots: dict[tuple[str, str, str], tuple[int, int]],
    skus: dict[str, tuple[str, int]],
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """`vms`: (recovery size, public IP, recovery capacity reservation group id or None, recovery availability zone
    or "") of each VM; `slots`: (group id, size, zone), lower-cased -> (reserved, allocated) of the group's
    reservations of that size in that zone ("": its regional reservations) in the recovery region (absent: none).
    A VM takes a slot of its own zone only: a zonal reservation serves only VMs of its zone, a regional one only VMs
    deployed to no zone. Returns one row per group, size and zone the VMs name ({group, group_id, size, zone (None:
    regional), reserved, allocated, free, vms, covered, shortfall}), and the vCPUs per quota (`cores`, each family)
    the covered VMs no longer need (their reservation holds them): `uncovered(needed, held)` takes them out."""
    wanted: dict[tuple[str, str, str], list[Any]] = {}
    for size, _, group, zone in vms:
        if group:
            key = (group.lower(), size.lower(), (zone or "").lower())
            wanted.setdefault(key, [group, size, zone or None, 0])[3] += 1
    out: list[dict[str, Any]] = []
    held: dict[str, int] = {}
    for key, (group, size, zone, count) in wanted.items():
        reserved, allocated = slots.get(key, (0, 0))
        free = max(reserved - allocated, 0)
        covered = min(count, free)
        sku = skus.get(key[1])
        if sku is not None and covered:
            family, vcpus = sku
            held[CORES] = held.get(CORES, 0) + vcpus * covered
            held[family] = held.get(family, 0) + vcpus * covered
        out.append(
            {
                "group": group.rstrip("/").rsplit("/", 1)[-1],
                "group_id": group,
                "size": size,
                "zone": zone,
                "reserved": reserved,
                "allocated": allocated,
                "free": free,
                "vms": count,
                "covered": covered,
                "shortfall": count - covered,
            }
        )
    return out, held


def uncovered(needed: dict[str, int], held: dict[str, int]) -> dict[str, int]:
    """`needed` (from `needs`) without the vCPUs capacity reservations already hold (from `reserve`)."""
    return {quota: max(need - held.get(quota, 0), 0) for quota, need in needed.items()}


def vm_failures(errors: Iterable[str]) -> list[dict[str, Any]]:
    """The per-VM quota and capacity failures among a failed ASR job's errors (`code: message` texts):
    {vm, code, shortfall (None for AllocationFailed), text}."""
    found = []
    for text in errors:
        code = text.split(":", 1)[0]
        if code not in ("OperationNotAllowed", "AllocationFailed"):
            continue
        vm = _VM.search(text)
        quota = _QUOTA.search(text)
        shortfall = None
        if quota:
            shortfall = int(quota["used"]) + int(quota["requested"]) - int(quota["limit"])
        what = f"quota {quota['what']} short by {shortfall}" if quota else "no capacity for its size (AllocationFailed)"
        name = vm["vm"] if vm else "?"
        found.append({"vm": name, "code": code, "shortfall": shortfall, "text": f"{name}: {what}"})
    return found


def describe(result: dict[str, Any]) -> str:
    """One line: each quota short, by how much (`cores 40 needed, 8 left: short by 32`)."""
    short = [r for r in result.get("rows", []) if r["shortfall"] > 0]
    return "; ".join(
        f"{r['name']} ({r['quota']}): {r['needed']} needed, {r['available']} left of {r['limit']}: short by "
        f"{r['shortfall']}"
        for r in short
    )


def describe_reservations(result: dict[str, Any]) -> str:
    """One line: each capacity reservation smaller than the VMs that name it (`crg-neu Standard_D4s_v5: 6 VMs, 4
    reserved slots free: 2 VMs beyond the reservation (they need quota)`; `... Standard_D4s_v5 in zone 2: ...` for
    the VMs of one availability zone)."""
    short = [r for r in result.get("reservations") or [] if r.get("shortfall", 0) > 0]
    return "; ".join(
        f"capacity reservation group {r['group']} {r['size']}{in_zone(r)}: {r['vms']} VMs, {r['free']} reserved "
        f"slots free of {r['reserved']}: {r['shortfall']} VMs beyond the reservation (they need quota, without its "
        "guarantee)"
        for r in short
    )


def in_zone(row: dict[str, Any]) -> str:
    """` in zone 2` for a reservation row of the VMs of one availability zone; "" for regional VMs."""
    zone = row.get("zone")
    return f" in zone {zone}" if isinstance(zone, str) and zone else ""


def summed(needs_of_plans: Iterable[dict[str, int]]) -> dict[str, int]:
    """Several plans' `needs` added up per quota (an evacuation's plans coming up in one region, against its one
    quota), in `needs`' order: regional vCPUs, VM count, the families as first met, public IPs last."""
    total: dict[str, int] = {CORES: 0, VIRTUAL_MACHINES: 0}
    public_ips = 0
    for needed in needs_of_plans:
        public_ips += needed.get(PUBLIC_IPS, 0)
        for quota, need in needed.items():
            if quota != PUBLIC_IPS:
                total[quota] = total.get(quota, 0) + need
    if public_ips:
        total[PUBLIC_IPS] = public_ips
    return total
