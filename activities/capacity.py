"""Recovery capacity: what the plan's recovery plans will start in the recovery region (each protected VM's
recovery size and public IP, from ASR) against that region's quotas and usage (Microsoft.Compute usages and
resource SKUs, Microsoft.Network usages). Read-only; the arithmetic is `failover.capacity`'s.

`capacity_check` is a durable activity (the failover orchestration calls it before the approval card) and a
function readiness and the preview call in a worker thread. `capacity_check_region` checks an evacuation's plans
coming up in one region together (the evacuation calls it once per subscription and region before its card; its
dry run calls it in a worker thread).
"""

from __future__ import annotations

import azure.durable_functions as df
from azure.core.rest import HttpRequest

from activities._common import clients, log
from failover import capacity
from failover.contracts.capacity import (
    CapacityInput,
    CapacityResult,
    PlanRecoveryPlans,
    RegionCapacityInput,
    RegionCapacityResult,
)

VmNeed = tuple[str, bool]  # a protected VM's recovery size, and whether its recovery NIC has a public IP
Usage = tuple[int, int, str]  # a quota's current usage, limit and localized name

# The api-version azure-mgmt-recoveryservicessiterecovery (pinned 2.0.0) sends (a test holds the two equal).
ASR_API_VERSION = "2025-08-01"


def _recovery_vms(payload: CapacityInput) -> list[tuple[str, bool]]:
    """(recovery size, public IP on the recovery NIC) of each protected VM the recovery plans list."""
    wanted = {"": list(payload.recovery_plans)}
    return _vault_vms(payload.subscription_id, payload.resource_group, payload.vault, wanted)[""]


def _vault_vms(subscription_id: str, rg: str, vault: str, wanted: dict[str, list[str]]) -> dict[str, list[VmNeed]]:
    """For each key of `wanted` (a plan), (recovery size, public IP on the recovery NIC) of each protected VM its
    recovery plans list: one list of the vault's recovery plans and one read of its protected items, however many
    plans share the vault."""
    client = clients().site_recovery(subscription_id)
    owners: dict[str, set[str]] = {}  # recovery plan (lower case) -> the keys naming it
    for key, names in wanted.items():
        for name in names:
            owners.setdefault(name.lower(), set()).add(key)
    by_item: dict[str, set[str]] = {}  # protected item id (lower case) -> the keys whose recovery plans list it
    found: set[str] = set()
    for plan in client.replication_recovery_plans.list(rg, vault):  # one list (paged), not a GET per plan
        if not plan.name or plan.name.lower() not in owners or plan.properties is None:
            continue
        found.add(plan.name.lower())
        groups = plan.properties.groups or []
        for ref in (ref for g in groups for ref in g.replication_protected_items or [] if ref.id):
            by_item.setdefault(str(ref.id).lower(), set()).update(owners[plan.name.lower()])
    if set(owners) - found:
        raise RuntimeError(f"recovery plans not in vault {vault}: {', '.join(sorted(set(owners) - found))}")
    # The vault's protected items, read as JSON through the SDK client's own pipeline (credential, retries, base
    # URL): the two fields needed here, without building every item's model (about 1.3 ms an item, 13 s at 10,000
    # VMs, on the critical path of every run before its approval).
    vms: dict[str, list[VmNeed]] = {key: [] for key in wanted}
    url: str | None = (
        f"/subscriptions/{subscription_id}/resourceGroups/{rg}/providers/Microsoft.RecoveryServices/vaults/"
        f"{vault}/replicationProtectedItems?api-version={ASR_API_VERSION}"
    )
    while url and by_item:
        response = client.send_request(HttpRequest("GET", url))
        response.raise_for_status()
        page = response.json() or {}
        for item in page.get("value") or []:
            keys = by_item.get(str(item.get("id") or "").lower())
            if not keys:
                continue
            details = (item.get("properties") or {}).get("providerSpecificDetails") or {}
            configs = [c for nic in details.get("vmNics") or [] for c in nic.get("ipConfigs") or []]
            vm = (details.get("recoveryAzureVMSize") or "", any(c.get("recoveryPublicIPAddressId") for c in configs))
            for key in keys:
                vms[key].append(vm)
        url = page.get("nextLink")
    return vms


def _region_quota(subscription_id: str, region: str) -> tuple[dict[str, tuple[str, int]], dict[str, Usage]]:
    """The region's VM sizes (lower-cased size -> (family, vCPUs), from the resource SKUs) and its quotas (usage
    name -> (current, limit, localized name): Compute's usages, and Network's public IPs)."""
    compute = clients().compute(subscription_id)
    skus: dict[str, tuple[str, int]] = {}
    for sku in compute.resource_skus.list(filter=f"location eq '{region}'"):
        if sku.resource_type != "virtualMachines" or not sku.name:
            continue
        vcpus = next((c.value for c in sku.capabilities or [] if c.name == "vCPUs"), None)
        if sku.family and vcpus is not None:
            skus[sku.name.lower()] = (sku.family, int(vcpus))
    usages: dict[str, Usage] = {}
    for usage in compute.usage.list(region):
        if usage.name and usage.name.value:
            usages[usage.name.value] = (int(usage.current_value), int(usage.limit), usage.name.localized_value or "")
    for ip in clients().network(subscription_id).usages.list(region):
        if ip.name and ip.name.value == capacity.PUBLIC_IPS:
            usages[capacity.PUBLIC_IPS] = (int(ip.current_value), int(ip.limit), ip.name.localized_value or "")
    return skus, usages


def capacity_check(payload: CapacityInput) -> CapacityResult:
    """Per quota of the region the recovery plans' VMs come up in (`recovery_region`; a failback's: the primary
    region), regional vCPUs, VM count, each VM family's vCPUs, public IPs: what the recovery plans need, what is
    used, the limit, and the shortfall."""
    region = payload.recovery_region
    skus, usages = _region_quota(payload.subscription_id, region)
    vms = _recovery_vms(payload)
    needed, unknown = capacity.needs(vms, skus)
    result = CapacityResult.model_validate(
        {"region": region, "vms": len(vms), "rows": capacity.rows(needed, usages), "unknown_sizes": unknown}
    )
    log(payload, "capacity.check").info(
        "capacity checked", region=region, vms=len(vms), short=[r.quota for r in result.short]
    )
    return result


def capacity_check_region(payload: RegionCapacityInput) -> RegionCapacityResult:
    """An evacuation's plans coming up in one region of one subscription, checked together: the region's SKUs and
    quotas read once, each vault's protected items once, and per quota the plans' needs summed against it
    (`failover.capacity.summed`), with each plan's part."""
    region = payload.region
    skus, usages = _region_quota(payload.subscription_id, region)
    vaults: dict[tuple[str, str, str], tuple[PlanRecoveryPlans, dict[str, list[str]]]] = {}
    for plan in payload.plans:
        key = (plan.subscription_id.lower(), plan.resource_group.lower(), plan.vault.lower())
        vaults.setdefault(key, (plan, {}))[1][plan.plan] = list(plan.recovery_plans)
    parts: dict[str, tuple[int, dict[str, int]]] = {}
    unknown: list[str] = []
    for first, wanted in vaults.values():
        for name, vms in _vault_vms(first.subscription_id, first.resource_group, first.vault, wanted).items():
            needed, sizes = capacity.needs(vms, skus)
            parts[name] = (len(vms), needed)
            unknown.extend(s for s in sizes if s not in unknown)
    total = capacity.summed(needed for _, needed in parts.values())
    result = RegionCapacityResult.model_validate(
        {
            "subscription_id": payload.subscription_id,
            "region": region,
            "vms": sum(vms for vms, _ in parts.values()),
            "rows": capacity.rows(total, usages),
            "unknown_sizes": unknown,
            "plans": [{"plan": p.plan, "vms": parts[p.plan][0], "needed": parts[p.plan][1]} for p in payload.plans],
        }
    )
    log(payload, "capacity.check_region").info(
        "capacity checked", region=region, plans=len(parts), vms=result.vms, short=[r.quota for r in result.short]
    )
    return result


ACTIVITIES = [capacity_check, capacity_check_region]

bp = df.Blueprint()
for _activity in ACTIVITIES:
    bp.activity_trigger(input_name="payload")(_activity)
