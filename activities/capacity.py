"""Recovery capacity: what the plan's recovery plans will start in the recovery region (each protected VM's
recovery size and public IP, from ASR), and the session hosts `recovery: provision` builds there (`count` VMs of
`provision.vm_size`, else of the host pool's vmTemplate size), against that region's quotas and usage
(Microsoft.Compute usages and resource SKUs, Microsoft.Network usages) and the capacity reservation groups the VMs'
recovery settings name (Microsoft.Compute capacityReservationGroups with their instance view, and their
capacityReservations: each size's reserved count and the VMs already allocated against it). Read-only; the
arithmetic is `failover.capacity`'s.

`capacity_check` is a durable activity (the failover orchestration calls it before the approval card) and a
function readiness and the preview call in a worker thread.
"""

from __future__ import annotations

import azure.durable_functions as df
from azure.core.exceptions import ResourceNotFoundError
from azure.core.rest import HttpRequest

from activities._common import clients, log
from failover import capacity
from failover.avd_template import template_size
from failover.contracts.capacity import CapacityInput, CapacityResult

# The api-version azure-mgmt-recoveryservicessiterecovery (pinned 2.0.0) sends (a test holds the two equal).
ASR_API_VERSION = "2025-08-01"


def _recovery_vms(payload: CapacityInput) -> list[tuple[str, bool, str | None]]:
    """(recovery size, public IP on the recovery NIC, recovery capacity reservation group id) of each protected VM
    the recovery plans list."""
    client = clients().site_recovery(payload.subscription_id)
    rg, vault = payload.resource_group, payload.vault
    wanted = {name.lower() for name in payload.recovery_plans}
    ids: set[str] = set()
    found: set[str] = set()
    for plan in client.replication_recovery_plans.list(rg, vault):  # one list (paged), not a GET per plan
        if not plan.name or plan.name.lower() not in wanted or plan.properties is None:
            continue
        found.add(plan.name.lower())
        groups = plan.properties.groups or []
        ids.update(ref.id.lower() for g in groups for ref in g.replication_protected_items or [] if ref.id)
    if wanted - found:
        raise RuntimeError(f"recovery plans not in vault {vault}: {', '.join(sorted(wanted - found))}")
    # The vault's protected items, read as JSON through the SDK client's own pipeline (credential, retries, base
    # URL): the two fields needed here, without building every item's model (about 1.3 ms an item, 13 s at 10,000
    # VMs, on the critical path of every run before its approval).
    vms: list[tuple[str, bool, str | None]] = []
    url: str | None = (
        f"/subscriptions/{payload.subscription_id}/resourceGroups/{rg}/providers/Microsoft.RecoveryServices/vaults/"
        f"{vault}/replicationProtectedItems?api-version={ASR_API_VERSION}"
    )
    while url and ids:
        response = client.send_request(HttpRequest("GET", url))
        response.raise_for_status()
        page = response.json() or {}
        for item in page.get("value") or []:
            if str(item.get("id") or "").lower() not in ids:
                continue
            details = (item.get("properties") or {}).get("providerSpecificDetails") or {}
            configs = [c for nic in details.get("vmNics") or [] for c in nic.get("ipConfigs") or []]
            vms.append(
                (
                    details.get("recoveryAzureVMSize") or "",
                    any(c.get("recoveryPublicIPAddressId") for c in configs),
                    details.get("recoveryCapacityReservationGroupId") or None,
                )
            )
        url = page.get("nextLink")
    return vms


def _reserved_slots(groups: set[str], region: str) -> dict[tuple[str, str], tuple[int, int]]:
    """(group id, size), lower-cased -> (reserved, allocated) of each named capacity reservation group's reservations
    in the recovery region: the group read with its instance view (each reservation's `utilizationInfo`), its
    reservations listed (each one's size). A group that is not found, or not in the region, holds no slot here."""
    slots: dict[tuple[str, str], tuple[int, int]] = {}
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
        if (group.location or "").replace(" ", "").lower() != region.replace(" ", "").lower():
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
            key = (group_id.lower(), reservation.sku.name.lower())
            before = slots.get(key, (0, 0))
            slots[key] = (before[0] + int(reserved), before[1] + allocated)
    return slots


def _session_hosts(payload: CapacityInput) -> tuple[list[tuple[str, bool]], list[str]]:
    """(size, no public IP) of each session host `recovery: provision` builds, and the host pools whose size could
    not be read (their hosts are left out; readiness's `provision` check says why)."""
    vms: list[tuple[str, bool]] = []
    unread: list[str] = []
    for need in payload.session_hosts:
        size = need.vm_size
        if not size:
            try:
                avd = clients().desktop_virtualization(need.subscription_id)
                size = template_size(avd.host_pools.get(need.resource_group, need.host_pool).vm_template)
            except Exception as err:  # the capacity of the recovery plans is still worth reporting
                log(payload, "capacity.check").warning("vmTemplate not read", host_pool=need.host_pool, error=str(err))
        if size:
            vms.extend([(size, False)] * need.count)
        else:
            unread.append(f"{need.host_pool} (vmTemplate size not read: {need.count} session hosts not counted)")
    return vms, unread


def capacity_check(payload: CapacityInput) -> CapacityResult:
    """Per quota of the recovery region (regional vCPUs, VM count, each VM family's vCPUs, public IPs): what the
    recovery plans need, what is used, the limit, and the shortfall."""
    region = payload.recovery_region
    compute = clients().compute(payload.subscription_id)
    skus: dict[str, tuple[str, int]] = {}
    for sku in compute.resource_skus.list(filter=f"location eq '{region}'"):
        if sku.resource_type != "virtualMachines" or not sku.name:
            continue
        vcpus = next((c.value for c in sku.capabilities or [] if c.name == "vCPUs"), None)
        if sku.family and vcpus is not None:
            skus[sku.name.lower()] = (sku.family, int(vcpus))
    usages: dict[str, tuple[int, int, str]] = {}
    for usage in compute.usage.list(region):
        if usage.name and usage.name.value:
            usages[usage.name.value] = (int(usage.current_value), int(usage.limit), usage.name.localized_value or "")
    for ip in clients().network(payload.subscription_id).usages.list(region):
        if ip.name and ip.name.value == capacity.PUBLIC_IPS:
            usages[capacity.PUBLIC_IPS] = (int(ip.current_value), int(ip.limit), ip.name.localized_value or "")
    hosts, unread = _session_hosts(payload)
    vms = _recovery_vms(payload) + [(size, public_ip, None) for size, public_ip in hosts]
    needed, unknown = capacity.needs([(size, public_ip) for size, public_ip, _ in vms], skus)
    slots = _reserved_slots({group for _, _, group in vms if group}, region)
    reservations, held = capacity.reserve(vms, slots, skus)
    result = CapacityResult.model_validate(
        {
            "region": region,
            "vms": len(vms),
            "rows": capacity.rows(capacity.uncovered(needed, held), usages),
            "unknown_sizes": unknown + unread,
            "reserved": sum(r["covered"] for r in reservations),
            "reservations": reservations,
            "session_hosts": len(hosts),
        }
    )
    log(payload, "capacity.check").info(
        "capacity checked",
        region=region,
        vms=len(vms),
        reserved=result.reserved,
        short=[r.quota for r in result.short],
        reservations_short=[f"{r.group}/{r.size}" for r in result.reservations if r.shortfall],
    )
    return result


ACTIVITIES = [capacity_check]

bp = df.Blueprint()
for _activity in ACTIVITIES:
    bp.activity_trigger(input_name="payload")(_activity)
