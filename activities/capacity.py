"""Recovery capacity: what the plan's recovery plans will start in the recovery region (each protected VM's
recovery size and public IP, from ASR), and the session hosts `recovery: provision` builds there (`count` VMs of
`provision.vm_size`, else of the host pool's vmTemplate size), against that region's quotas and usage
(Microsoft.Compute usages and resource SKUs, Microsoft.Network usages) and the capacity reservation groups the VMs'
recovery settings name (Microsoft.Compute capacityReservationGroups with their instance view, and their
capacityReservations: each size's reserved count and the VMs already allocated against it). Read-only; the
arithmetic is `failover.capacity`'s.

`capacity_check` is a durable activity (the failover orchestration calls it before the approval card) and a
function readiness and the preview call in a worker thread. `capacity_check_region` checks an evacuation's plans
coming up in one region together (the evacuation calls it once per subscription and region before its card; its
dry run calls it in a worker thread): their VMs and session hosts summed, and the capacity reservations reserved
for all their VMs at once (a group's free slots are shared by every plan whose VMs name it).
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df
from azure.core.exceptions import ResourceNotFoundError

from activities._arm import same_location
from activities._asr import protected_items_json
from activities._common import clients, log
from failover import capacity
from failover.avd_template import template_size
from failover.contracts import ActivityInput
from failover.contracts.capacity import (
    CapacityInput,
    CapacityResult,
    PlanRecoveryPlans,
    RegionCapacityInput,
    RegionCapacityResult,
    SessionHostNeed,
)

# a recovery VM's size, whether its recovery NIC has a public IP, the capacity reservation group its recovery
# settings name (None: none) and the availability zone it comes up in ("": none)
VmNeed = tuple[str, bool, str | None, str]
Usage = tuple[int, int, str]  # a quota's current usage, limit and localized name

# The api-version azure-mgmt-recoveryservicessiterecovery (pinned 2.0.0) sends (a test holds the two equal).


def _recovery_vms(payload: CapacityInput) -> list[VmNeed]:
    """(recovery size, public IP on the recovery NIC, recovery capacity reservation group id, recovery availability
    zone) of each protected VM the recovery plans list."""
    wanted = {"": list(payload.recovery_plans)}
    return _vault_vms(payload.subscription_id, payload.resource_group, payload.vault, wanted)[""]


def _vault_vms(subscription_id: str, rg: str, vault: str, wanted: dict[str, list[str]]) -> dict[str, list[VmNeed]]:
    """For each key of `wanted` (a plan), (recovery size, public IP on the recovery NIC, recovery capacity
    reservation group id, recovery availability zone) of each protected VM its recovery plans list: one list of the
    vault's recovery plans and one read of its protected items, however many plans share the vault."""
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
    vms: dict[str, list[VmNeed]] = {key: [] for key in wanted}
    items = protected_items_json(client, subscription_id, rg, vault) if by_item else iter(())
    for item in items:  # as JSON: the four fields needed here
        keys = by_item.get(str(item.get("id") or "").lower())
        if not keys:
            continue
        details = (item.get("properties") or {}).get("providerSpecificDetails") or {}
        configs = [c for nic in details.get("vmNics") or [] for c in nic.get("ipConfigs") or []]
        vm = (
            details.get("recoveryAzureVMSize") or "",
            any(c.get("recoveryPublicIPAddressId") for c in configs),
            details.get("recoveryCapacityReservationGroupId") or None,
            str(details.get("recoveryAvailabilityZone") or ""),
        )
        for key in keys:
            vms[key].append(vm)
    return vms


def _reserved_slots(groups: set[str], region: str) -> dict[tuple[str, str, str], tuple[int, int]]:
    """(group id, size, zone), lower-cased -> (reserved, allocated) of each named capacity reservation group's
    reservations in the recovery region: the group read with its instance view (each reservation's
    `utilizationInfo`), its reservations listed (each one's size and zone: "" for a regional reservation). A group
    that is not found, or not in the region, holds no slot here."""
    slots: dict[tuple[str, str, str], tuple[int, int]] = {}
    for group_id in sorted({g.lower(): g for g in groups}.values()):  # one read per group, however spelt
        parts = group_id.strip("/").split("/")
        lowered = [p.lower() for p in parts]
        if len(parts) < 8 or lowered[0] != "subscriptions" or lowered[2] != "resourcegroups":
            continue  # not a capacity reservation group's id: no slot
        compute = clients().compute(parts[1])
        rg, name = parts[3], parts[-1]
        try:
            group = compute.capacity_reservation_groups.get(rg, name, expand="instanceView")
        except ResourceNotFoundError:
            continue
        if not same_location(group.location, region):
            continue
        used = {
            (view.name or "").lower(): view.utilization_info
            for view in (group.instance_view.capacity_reservations or [] if group.instance_view else [])
        }
        for reservation in compute.capacity_reservations.list_by_capacity_reservation_group(rg, name):
            if reservation.sku is None or not reservation.sku.name:
                continue
            info = used.get((reservation.name or "").lower())
            reserved = reservation.sku.capacity or 0
            if info is not None and info.current_capacity is not None:
                reserved = info.current_capacity  # what was reserved successfully (and is billed)
            allocated = len(info.virtual_machines_allocated or []) if info is not None else 0
            zone = str((reservation.zones or [""])[0])  # one zone at most; none: a regional reservation
            key = (group_id.lower(), reservation.sku.name.lower(), zone.lower())
            before = slots.get(key, (0, 0))
            slots[key] = (before[0] + int(reserved), before[1] + allocated)
    return slots


def _session_hosts(payload: ActivityInput, needs: list[SessionHostNeed]) -> tuple[list[VmNeed], list[str]]:
    """(size, no public IP, no reservation, no zone) of each session host `recovery: provision` builds, and the host
    pools whose size could not be read (their hosts are left out; readiness's `provision` check says why)."""
    vms: list[VmNeed] = []
    unread: list[str] = []
    for need in needs:
        size = need.vm_size
        if not size:
            try:
                avd = clients().desktop_virtualization(need.subscription_id)
                size = template_size(avd.host_pools.get(need.resource_group, need.host_pool).vm_template)
            except Exception as err:  # the capacity of the recovery plans is still worth reporting
                log(payload, "capacity.check").warning("vmTemplate not read", host_pool=need.host_pool, error=str(err))
        if size:
            vms.extend([(size, False, None, "")] * need.count)
        else:
            unread.append(f"{need.host_pool} (vmTemplate size not read: {need.count} session hosts not counted)")
    return vms, unread


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
    hosts, unread = _session_hosts(payload, payload.session_hosts)
    vms = _recovery_vms(payload) + hosts
    needed, unknown = capacity.needs(_quota_needs(vms), skus)
    result = CapacityResult.model_validate(
        {
            "region": region,
            "vms": len(vms),
            **_reserved(vms, needed, skus, usages, region),
            "unknown_sizes": unknown + unread,
            "session_hosts": len(hosts),
        }
    )
    log(payload, "capacity.check").info(
        "capacity checked",
        region=region,
        vms=len(vms),
        reserved=result.reserved,
        short=[r.quota for r in result.short],
        reservations_short=[r.label for r in result.reservations if r.shortfall],
    )
    return result


def _quota_needs(vms: list[VmNeed]) -> list[tuple[str, bool]]:
    return [(size, public_ip) for size, public_ip, _, _ in vms]


def _reserved(
    vms: list[VmNeed],
    needed: dict[str, int],
    skus: dict[str, tuple[str, int]],
    usages: dict[str, Usage],
    region: str,
) -> dict[str, Any]:
    """The quota rows once the capacity reservations the VMs name hold what their free slots can (`reserve` over
    every VM given at once: an evacuation's plans share a group's free slots), the VMs they hold and the row of each
    group, size and zone."""
    slots = _reserved_slots({group for _, _, group, _ in vms if group}, region)
    reservations, held = capacity.reserve(vms, slots, skus)
    return {
        "rows": capacity.rows(capacity.uncovered(needed, held), usages),
        "reserved": sum(r["covered"] for r in reservations),
        "reservations": reservations,
    }


def capacity_check_region(payload: RegionCapacityInput) -> RegionCapacityResult:
    """An evacuation's plans coming up in one region of one subscription, checked together: the region's SKUs and
    quotas read once, each vault's protected items once, and per quota the plans' needs (their VMs and the session
    hosts of their `recovery: provision` pools) summed against it (`failover.capacity.summed`), less what the
    capacity reservations hold (`reserve` over every plan's VMs at once), with each plan's part."""
    region = payload.region
    skus, usages = _region_quota(payload.subscription_id, region)
    by_name = {plan.plan: plan for plan in payload.plans}
    vaults: dict[tuple[str, str, str], tuple[PlanRecoveryPlans, dict[str, list[str]]]] = {}
    for plan in payload.plans:
        key = (plan.subscription_id.lower(), plan.resource_group.lower(), plan.vault.lower())
        vaults.setdefault(key, (plan, {}))[1][plan.plan] = list(plan.recovery_plans)
    parts: dict[str, tuple[int, dict[str, int], int]] = {}  # plan -> (its VMs, its needs, its session hosts)
    every: list[VmNeed] = []  # every plan's VMs and session hosts: the reservations are reserved for them at once
    unknown: list[str] = []
    for first, wanted in vaults.values():
        for name, vms in _vault_vms(first.subscription_id, first.resource_group, first.vault, wanted).items():
            hosts, unread = _session_hosts(payload, by_name[name].session_hosts)
            needed, sizes = capacity.needs(_quota_needs(vms + hosts), skus)
            parts[name] = (len(vms) + len(hosts), needed, len(hosts))
            every.extend(vms + hosts)
            unknown.extend(s for s in sizes + unread if s not in unknown)
    total = capacity.summed(needed for _, needed, _ in parts.values())
    result = RegionCapacityResult.model_validate(
        {
            "subscription_id": payload.subscription_id,
            "region": region,
            "vms": sum(vms for vms, _, _ in parts.values()),
            **_reserved(every, total, skus, usages, region),  # not each plan's rows added: no free slot twice
            "unknown_sizes": unknown,
            "session_hosts": sum(hosts for _, _, hosts in parts.values()),
            "plans": [
                {"plan": p.plan, "vms": parts[p.plan][0], "needed": parts[p.plan][1], "session_hosts": parts[p.plan][2]}
                for p in payload.plans
            ],
        }
    )
    log(payload, "capacity.check_region").info(
        "capacity checked",
        region=region,
        plans=len(parts),
        vms=result.vms,
        reserved=result.reserved,
        short=[r.quota for r in result.short],
        reservations_short=[r.label for r in result.reservations if r.shortfall],
    )
    return result


ACTIVITIES = [capacity_check, capacity_check_region]

bp = df.Blueprint()
for _activity in ACTIVITIES:
    bp.activity_trigger(input_name="payload")(_activity)
