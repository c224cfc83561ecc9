"""Recovery capacity: what the plan's recovery plans will start in the recovery region (each protected VM's
recovery size and public IP, from ASR) against that region's quotas and usage (Microsoft.Compute usages and
resource SKUs, Microsoft.Network usages). Read-only; the arithmetic is `failover.capacity`'s.

`capacity_check` is a durable activity (the failover orchestration calls it before the approval card) and a
function readiness and the preview call in a worker thread.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities._common import clients, log
from failover import capacity
from failover.contracts.capacity import CapacityInput, CapacityResult


def _recovery_vms(payload: CapacityInput) -> list[tuple[str, bool]]:
    """(recovery size, public IP on the recovery NIC) of each protected VM the recovery plans list."""
    client = clients().site_recovery(payload.subscription_id)
    rg, vault = payload.resource_group, payload.vault
    ids: set[str] = set()
    for name in dict.fromkeys(payload.recovery_plans):
        props = client.replication_recovery_plans.get(rg, vault, name).properties
        if props is None:
            raise RuntimeError(f"recovery plan {name} came back without properties")
        ids.update(ref.id.lower() for g in props.groups or [] for ref in g.replication_protected_items or [] if ref.id)
    vms: list[tuple[str, bool]] = []
    for item in client.replication_protected_items.list(rg, vault) if ids else []:
        if not item.id or item.id.lower() not in ids:
            continue
        details: Any = item.properties.provider_specific_details if item.properties else None
        size = getattr(details, "recovery_azure_vm_size", None) or ""
        nics = getattr(details, "vm_nics", None) or []
        public_ip = any(c.recovery_public_ip_address_id for nic in nics for c in nic.ip_configs or [])
        vms.append((size, public_ip))
    return vms


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
    vms = _recovery_vms(payload)
    needed, unknown = capacity.needs(vms, skus)
    result = CapacityResult.model_validate(
        {"region": region, "vms": len(vms), "rows": capacity.rows(needed, usages), "unknown_sizes": unknown}
    )
    log(payload, "capacity.check").info(
        "capacity checked", region=region, vms=len(vms), short=[r.quota for r in result.short]
    )
    return result


ACTIVITIES = [capacity_check]

bp = df.Blueprint()
for _activity in ACTIVITIES:
    bp.activity_trigger(input_name="payload")(_activity)
