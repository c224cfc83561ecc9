"""Where the VMs of Azure Local (HyperVReplicaAzure) recovery plans run (`asr_vm_placement`): reads only, so it
may run any number of times; registered with the other ASR activities by `activities.asr`.

A Hyper-V site's protected item names the Hyper-V host it is registered on in `recoveryServicesProviderId` (each
host of the site runs the Site Recovery provider; `.../replicationRecoveryServicesProviders/{provider}`). ASR has
no field for the host's Azure Local cluster; the simulator puts it in the item's provider details
(`providerSpecificDetails.azureLocalClusterName`, its own key, docs/simulator.md). Without it the cluster is unknown
and the report says so instead of guessing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from activities._asr import plan_items
from activities._common import clients, log
from failover.contracts.asr import VmPlacement, VmPlacementInput, VmPlacementResult

CLUSTER_KEY = "azureLocalClusterName"  # the simulator's own key in a HyperVReplicaAzure item's provider details


def _cluster(details: Any) -> str | None:
    """The Azure Local cluster the item's provider details name (the SDK's models are mappings of the JSON)."""
    if details is None:
        return None
    try:
        value = details.get(CLUSTER_KEY)
    except AttributeError:
        return None
    return str(value) if value else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def asr_vm_placement(payload: VmPlacementInput) -> VmPlacementResult:
    """The protected items of the recovery plans: name (the VM's), recovery_plan, active_location (Primary: on
    premises, Recovery: in Azure), host (the last segment of `recoveryServicesProviderId`), cluster (when the item
    names it) and last_failover_at (`lastSuccessfulFailoverTime`). One vault-wide list, filtered by the plans' item
    ids; an item a plan lists that the vault does not is left out."""
    client = clients().site_recovery(payload.subscription_id)
    rg, vault = payload.resource_group, payload.vault
    # lower-cased item id -> recovery plan
    wanted = {key: plan for key, (plan, _) in plan_items(client, rg, vault, payload.recovery_plans).items()}
    vms: list[VmPlacement] = []
    for item in client.replication_protected_items.list(rg, vault):
        key = (item.id or "").lower()
        props = item.properties
        if key not in wanted or props is None:
            continue
        wanted_plan = wanted.pop(key)
        provider = props.recovery_services_provider_id or ""
        vms.append(
            VmPlacement(
                name=props.friendly_name or item.name or key.rsplit("/", 1)[-1],
                recovery_plan=wanted_plan,
                active_location=props.active_location,
                host=provider.rsplit("/", 1)[-1] or None,
                cluster=_cluster(props.provider_specific_details),
                last_failover_at=_iso(props.last_successful_failover_time),
            )
        )
    vms.sort(key=lambda v: (v.recovery_plan, v.name))
    log(payload, "asr.placement").info("vm placement", vault=vault, vms=len(vms), missing=len(wanted))
    return VmPlacementResult(vms=vms)
