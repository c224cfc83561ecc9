"""Recovery capacity: what a plan's VMs need in the recovery region against its quotas (pure, unit tested).

`needs` adds up, per quota, the VMs the recovery plans will start: each VM's vCPUs count against the regional
vCPUs (`cores`, "Total Regional vCPUs") and against its VM family's vCPUs (the family and vCPUs of its recovery
size, from Microsoft.Compute/skus), one VM against `virtualMachines`, and a recovery NIC with a public IP against
`PublicIPAddresses` (network usages). `rows` sets each need against the region's limit and current usage.
`vm_failures` reads a failed ASR job's errors back per VM (quota `OperationNotAllowed`, `AllocationFailed`), with
the shortfall the quota message states. `verdict` turns a check into the texts a run shows (warnings or errors).
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
