"""Azure Local / Hyper-V sites replicated to Azure with ASR (`HyperVReplicaAzure`): part of Microsoft.RecoveryServices.

An Azure Local site is a Hyper-V site fabric (`HyperVSite`) of the vault: the hosts of its clusters run the Site
Recovery provider, and a protected VM names the host it is registered on in `recoveryServicesProviderId`
(`.../replicationFabrics/{site}/replicationRecoveryServicesProviders/{host}`; ASR names a provider by a GUID, the
simulator by its host). Its recovery plans fail over to Azure and back like A2A ones (`SiteRecovery` moves them), with
provider inputs of their own, which this module checks as ASR would (a 400 otherwise, nothing changes):
- to Azure (planned, unplanned, test failover): `HyperVReplicaAzure`, `recoveryPointType` Latest |
  LatestApplicationConsistent | LatestProcessed;
- back to the site (a planned failover RecoveryToPrimary): `HyperVReplicaAzureFailback`, with `dataSyncOption`
  ForDownTime | ForSynchronization and `recoveryVmCreationOption` CreateVmIfNotFound | NoAction;
- an A2A plan takes no Hyper-V input, a Hyper-V plan no A2A one.

The knobs: `lose_cluster(name)` (the cluster is gone, its VMs with it) and `delete_vm(name)` (one VM deleted on
premises). A failback of a VM that is gone fails (`NoAction`: "not found") or, with `CreateVmIfNotFound` (alternate
location recovery), creates it on a host of another cluster of the site: the item then names that host, and the
cluster in `providerSpecificDetails.azureLocalClusterName` - the simulator's own key: ASR has no cluster field.
ForDownTime's pause for "Complete Failover" is not simulated: the job runs to its end either way.

Shapes follow `ReplicationProtectedItems_Get` and `ReplicationRecoveryPlans_PlannedFailover` (Site Recovery
2025-08-01, whose examples are Hyper-V ones). The simulator imports nothing from the product.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from simulator.arm import Cloud, SimError, asr_error
from simulator.providers.recovery_services import HYPERV, Job, ProtectedItem, RecoveryPlan, SiteRecovery

FAILBACK = "HyperVReplicaAzureFailback"
CLUSTER_KEY = "azureLocalClusterName"  # the simulator's own key in the item's provider details
RECOVERY_POINT_TYPES = ("Latest", "LatestApplicationConsistent", "LatestProcessed")
DATA_SYNC_OPTIONS = ("ForDownTime", "ForSynchronization")
VM_CREATION_OPTIONS = ("CreateVmIfNotFound", "NoAction")
AZURE = "Microsoft Azure"  # the recovery fabric and container of Hyper-V to Azure, as ASR names them
POLICY = "azlocal-replication-policy"


@dataclass
class Cluster:
    name: str
    hosts: list[str]
    lost: bool = False  # gone (`lose_cluster`): the VMs that ran on it are gone too


@dataclass
class Placement:
    """Where a protected VM is registered on premises: its cluster and host."""

    cluster: str
    host: str


@dataclass
class HyperVSite:
    """The Hyper-V site fabric of a vault and the Azure Local clusters registered to it."""

    name: str
    resource_group: str
    vault: str
    clusters: dict[str, Cluster] = field(default_factory=dict)

    @property
    def container(self) -> str:
        return f"cloud_{uuid.uuid5(uuid.NAMESPACE_URL, self.name.lower())}"


class AzureLocal:
    """The Hyper-V sites of an estate, where their VMs are and which are gone; guarded by the estate's lock. It plugs
    into the estate's `SiteRecovery` as its Hyper-V replication provider (`SiteRecovery.hyperv`)."""

    def __init__(self, cloud: Cloud, asr: SiteRecovery) -> None:
        self.cloud = cloud
        self.asr = asr
        asr.hyperv = self
        self.sites: dict[tuple[str, str], HyperVSite] = {}  # (rg, vault) -> the vault's Hyper-V site
        self.placement: dict[str, Placement] = {}  # VM name -> where it is registered
        self.site_of: dict[str, HyperVSite] = {}  # VM name -> its site
        self.deleted: set[str] = set()  # VMs deleted on premises (`delete_vm`)
        # the provider inputs of the Hyper-V plans' failovers and failbacks, as received: {job, plan, scenario,
        # direction, inputs}
        self.received: list[dict[str, Any]] = []
        self.alternate_restores: list[dict[str, Any]] = []  # VMs a failback created on another cluster

    # ---- setup ----------------------------------------------------------------------------
    def add_site(self, rg: str, vault: str, name: str, clusters: dict[str, list[str]]) -> HyperVSite:
        with self.cloud.lock:
            site = HyperVSite(name, rg.lower(), vault.lower(), {c: Cluster(c, list(h)) for c, h in clusters.items()})
            self.sites[(rg.lower(), vault.lower())] = site
            return site

    def add_plan(self, rg: str, vault: str, name: str, cluster: str, vms: list[str]) -> RecoveryPlan:
        """A HyperVReplicaAzure recovery plan of VMs running on `cluster` of the vault's site (hosts round robin)."""
        with self.cloud.lock:
            site = self.sites[(rg.lower(), vault.lower())]
            hosts = site.clusters[cluster].hosts
            items = []
            for index, vm in enumerate(vms):
                items.append(ProtectedItem(vm, str(uuid.uuid5(uuid.NAMESPACE_DNS, vm))))
                self.placement[vm] = Placement(cluster, hosts[index % len(hosts)])
                self.site_of[vm] = site
            plan = RecoveryPlan(rg, vault, name, [("Shutdown", []), ("Failover", []), ("Boot", items)], provider=HYPERV)
            self.asr.recovery_plans[(rg.lower(), vault.lower(), name.lower())] = plan
            return plan

    def lose_cluster(self, name: str) -> None:
        """The knob: the Azure Local cluster is lost (hardware, site); the VMs that ran on it are gone."""
        with self.cloud.lock:
            for site in self.sites.values():
                if name in site.clusters:
                    site.clusters[name].lost = True
                    return
            raise KeyError(f"no Azure Local cluster {name}")

    def delete_vm(self, name: str) -> None:
        """The knob: the VM was deleted on premises (its replica in Azure lives on)."""
        with self.cloud.lock:
            if name not in self.placement:
                raise KeyError(f"no Azure Local VM {name}")
            self.deleted.add(name)

    def present(self, vm: str) -> bool:
        """The VM still exists on premises: not deleted, and its cluster not lost."""
        where = self.placement[vm]
        return vm not in self.deleted and not self.site_of[vm].clusters[where.cluster].lost

    def is_hyperv(self, item: ProtectedItem) -> bool:
        return item.vm_name in self.placement

    # ---- provider inputs ------------------------------------------------------------------
    @staticmethod
    def check_provider_input(plan: RecoveryPlan, props: dict[str, Any], direction: str) -> None:
        """Refuse (400) a failover body whose provider input does not fit the plan's replication provider."""
        inputs = props.get("providerSpecificDetails") or []
        kinds = [str(i.get("instanceType")) for i in inputs if isinstance(i, dict)]
        if plan.provider != HYPERV:
            wrong = [k for k in kinds if k != plan.provider]
            if wrong:
                raise _mismatch(plan, wrong[0], [plan.provider])
            return
        wanted = FAILBACK if direction == "RecoveryToPrimary" else HYPERV
        wrong = [k for k in kinds if k != wanted]
        if wrong:
            raise _mismatch(plan, wrong[0], [wanted])
        if wanted == FAILBACK and not kinds:
            raise asr_error(
                400,
                "InvalidProviderSpecificInput",
                f"A failback of recovery plan '{plan.name}' (RecoveryToPrimary) needs providerSpecificDetails of "
                f"instanceType {FAILBACK}.",
                "The failback from Azure to the Hyper-V site was requested without its provider input.",
                f"Send a {FAILBACK} input with dataSyncOption and recoveryVmCreationOption.",
            )
        for given in inputs:
            checks = (
                (("dataSyncOption", DATA_SYNC_OPTIONS), ("recoveryVmCreationOption", VM_CREATION_OPTIONS))
                if wanted == FAILBACK
                else (("recoveryPointType", RECOVERY_POINT_TYPES),)
            )
            for key, allowed in checks:
                value = given.get(key)
                if value is None and wanted == HYPERV:
                    continue  # optional: ASR uses the latest recovery point
                if value not in allowed:
                    raise SimError(
                        400,
                        "InvalidParameterValue",
                        f"providerSpecificDetails[].{key} '{value}' is not one of {', '.join(allowed)}."
                        if value is not None
                        else f"providerSpecificDetails[].{key} is required.",
                    )

    def on_failover_started(self, plan: RecoveryPlan, job: Job, props: dict[str, Any]) -> None:
        """A failback of a Hyper-V plan: keep its options; VMs gone on premises fail it unless they may be created
        on another cluster (`CreateVmIfNotFound`) and the site has one."""
        if plan.provider != HYPERV:
            return
        inputs = [dict(i) for i in props.get("providerSpecificDetails") or [] if isinstance(i, dict)]
        self.received.append(
            {"job": job.name, "plan": plan.name, "scenario": job.scenario, "direction": job.direction, "inputs": inputs}
        )
        if job.direction != "RecoveryToPrimary":
            return
        given = inputs[0] if inputs else {}
        options = {k: str(given.get(k)) for k in ("dataSyncOption", "recoveryVmCreationOption")}
        gone = [i.vm_name for i in plan.items if not self.present(i.vm_name)]
        if not gone or job.fail_with:
            return
        if options["recoveryVmCreationOption"] != "CreateVmIfNotFound":
            job.fail_with = (
                f"The on-premises virtual machine(s) {', '.join(gone)} were not found on the Hyper-V site. Fail back "
                "with 'Create VM if it does not exist' (CreateVmIfNotFound) to recover them to an alternate location."
            )
        elif not all(self._alternate(vm) for vm in gone):
            job.fail_with = f"No Hyper-V host of the site can take the virtual machine(s) {', '.join(gone)}."

    def _alternate(self, vm: str) -> Placement | None:
        """Where a VM that is gone is created: its own cluster when only the VM was deleted, else the first other
        cluster of its site (by name) that is not lost; None when there is none."""
        site, where = self.site_of[vm], self.placement[vm]
        own = site.clusters[where.cluster]
        if not own.lost:
            return Placement(own.name, where.host)
        for cluster in sorted(site.clusters.values(), key=lambda c: c.name):
            if not cluster.lost and cluster.hosts:
                return Placement(cluster.name, cluster.hosts[0])
        return None

    def after_job(self, plan: RecoveryPlan, job: Job) -> None:
        """A failback that succeeded created every VM that was gone on another cluster's host (alternate
        location recovery): the items name that host from now on."""
        if plan.provider != HYPERV or job.direction != "RecoveryToPrimary" or job.state != "Succeeded":
            return
        if job.scenario not in ("PlannedFailover", "UnplannedFailover"):
            return
        for item in plan.items:
            if self.present(item.vm_name):
                continue
            target = self._alternate(item.vm_name)
            if target is None:
                continue
            before = self.placement[item.vm_name]
            self.alternate_restores.append(
                {"vm": item.vm_name, "from": before.cluster, "to": target.cluster, "host": target.host, "job": job.name}
            )
            self.placement[item.vm_name] = target
            self.deleted.discard(item.vm_name)

    # ---- JSON -----------------------------------------------------------------------------
    def item_id(self, vault_id: str, item: ProtectedItem) -> str:
        site = self.site_of[item.vm_name]
        return (
            f"{vault_id}/replicationFabrics/{site.name}/replicationProtectionContainers/{site.container}"
            f"/replicationProtectedItems/{item.vm_name}"
        )

    def is_site_container(self, rg: str, vault: str, fabric: str, container: str) -> bool:
        site = self.sites.get((rg.lower(), vault.lower()))
        return site is not None and site.name.lower() == fabric.lower() and site.container == container.lower()

    def plan_json(self, vault_id: str, plan: RecoveryPlan, body: dict[str, Any]) -> dict[str, Any]:
        """A Hyper-V plan in ReplicationRecoveryPlans_PlannedFailover's shape: the site, then Microsoft Azure."""
        site = self.sites.get((plan.resource_group.lower(), plan.vault.lower()))
        if site is None:
            return body
        body["properties"].update(
            primaryFabricFriendlyName=site.name,
            primaryFabricId=f"{vault_id}/replicationFabrics/{site.name}",
            recoveryFabricFriendlyName=AZURE,
            recoveryFabricId=AZURE,
            replicationProviders=[HYPERV],
        )
        return body

    def item_json(self, vault_id: str, item: ProtectedItem, body: dict[str, Any]) -> dict[str, Any]:
        """An A2A item's JSON (state, health, scenario) made a HyperVReplicaAzure one, in the shape of
        ReplicationProtectedItems_Get."""
        site, where = self.site_of[item.vm_name], self.placement[item.vm_name]
        sub = vault_id.split("/")[2]
        props = body["properties"]
        a2a = props["providerSpecificDetails"]
        body["id"] = self.item_id(vault_id, item)
        fabric_id = f"{vault_id}/replicationFabrics/{site.name}"
        props.update(
            protectedItemType="HyperVVirtualMachine",
            protectableItemId=f"{fabric_id}/replicationProtectionContainers/{site.container}"
            f"/replicationProtectableItems/{item.vm_id}",
            recoveryServicesProviderId=f"{fabric_id}/replicationRecoveryServicesProviders/{where.host}",
            primaryFabricFriendlyName=site.name,
            primaryFabricProvider="HyperVSite",
            recoveryFabricFriendlyName=AZURE,
            recoveryFabricId=AZURE,
            primaryProtectionContainerFriendlyName=site.name,
            recoveryProtectionContainerFriendlyName=AZURE,
            policyId=f"{vault_id}/replicationPolicies/{POLICY}",
            policyFriendlyName=POLICY,
            recoveryContainerId=f"{vault_id}/replicationFabrics/{AZURE}/replicationProtectionContainers/{AZURE}",
        )
        props["providerSpecificDetails"] = {
            "instanceType": HYPERV,
            "vmId": item.vm_id,
            "vmProtectionState": a2a["vmProtectionState"],
            "vmProtectionStateDescription": a2a["vmProtectionStateDescription"],
            "recoveryAzureVMName": item.vm_name,
            "recoveryAzureVMSize": "Standard_D4s_v5",
            "recoveryAzureResourceGroupId": f"/subscriptions/{sub}/resourceGroups/rg-azlocal-dr",
            "selectedRecoveryAzureNetworkId": f"/subscriptions/{sub}/resourceGroups/rg-network-neu/providers/"
            "Microsoft.Network/virtualNetworks/vnet-neu",
            "useManagedDisks": "true",
            "lastReplicatedTime": a2a["lastRpoCalculatedTime"],
            "rpoInSeconds": a2a["rpoInSeconds"],
            "lastRpoCalculatedTime": a2a["lastRpoCalculatedTime"],
            "lastRecoveryPointReceived": a2a["lastRpoCalculatedTime"],
            CLUSTER_KEY: where.cluster,
        }
        return body

    def snapshot(self) -> dict[str, Any]:
        with self.cloud.lock:
            return {
                "sites": [
                    {
                        "name": s.name,
                        "vault": s.vault,
                        "clusters": [{"name": c.name, "hosts": c.hosts, "lost": c.lost} for c in s.clusters.values()],
                    }
                    for s in self.sites.values()
                ],
                "vms": {
                    vm: {"cluster": p.cluster, "host": p.host, "present": self.present(vm)}
                    for vm, p in self.placement.items()
                },
                "received": list(self.received),
                "alternate_restores": list(self.alternate_restores),
            }


def _mismatch(plan: RecoveryPlan, given: str, wanted: list[str]) -> SimError:
    return asr_error(
        400,
        "InvalidProviderSpecificInput",
        f"The provider-specific input '{given}' does not match recovery plan '{plan.name}', which replicates with "
        f"{plan.provider}; expected {' or '.join(wanted)}.",
        "The failover input was built for another replication provider.",
        f"Send providerSpecificDetails of instanceType {' or '.join(wanted)}.",
    )


# ---- an Azure Local site for tests and rehearsals (not in the demo estate: its counts stay as they are) -----------
SITE = "azlocal-weu-site"
CLUSTERS = {
    "azl-weu-01": ["azl-weu-01-n1", "azl-weu-01-n2"],
    "azl-weu-02": ["azl-weu-02-n1", "azl-weu-02-n2"],
}
PLAN = "rp-azlocal-01"


def seed_site(azure_local: AzureLocal, rg: str, vault: str, vms: int = 4, plan: str = PLAN) -> RecoveryPlan:
    """The vault's Hyper-V site with two Azure Local clusters of two hosts each, and a HyperVReplicaAzure
    recovery plan of `vms` VMs (`vm-azl-NNNN`) running on the first cluster."""
    if (rg.lower(), vault.lower()) not in azure_local.sites:
        azure_local.add_site(rg, vault, SITE, CLUSTERS)
    return azure_local.add_plan(rg, vault, plan, "azl-weu-01", [f"vm-azl-{n:04d}" for n in range(1, vms + 1)])
