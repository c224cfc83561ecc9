"""The rest of the estate the DR guidance names: the recovery region's network (virtual networks, VPN /
ExpressRoute gateways and their connections to on-premises, ASR network mappings), Azure NetApp Files volumes
with cross-region replication (FSLogix profiles), and Azure Backup (protected VMs, recovery points, restores).

State lives in one `Sites` per `Estate` (`estate.sites`, `of(estate)`), guarded by the estate's lock; `add_routes`
registers the HTTPS routes on the simulator's route table and `seed_demo` adds the demo resources. Operations are the
toolkit's (`simulator.arm.OperationBook`): durations are simulated seconds divided by the estate's `time_scale` once,
when an operation starts; an operation finishes on the first read after it is due. Several resource providers share
this module (Microsoft.Network, Microsoft.NetApp, Microsoft.RecoveryServices backup and network mappings, a
Microsoft.Compute delete): to be split under `simulator/providers/` (docs/simulator.md, "Layout").

Shapes follow Microsoft's REST specs (Network 2026-03-01 `VirtualNetworks_Get`, `VirtualNetworkGateways_Get`,
`VirtualNetworkGateways_ListConnections`; Site Recovery 2025-08-01 `ReplicationNetworkMappings_List`; NetApp
2026-08-01 `Volumes_Get`, `Volumes_ReplicationStatus`, `Volumes_BreakReplication`; Recovery Services Backup
`RecoveryPoints_List`, `Restores_Trigger`, `JobDetails_Get`; Compute `VirtualMachines_Delete`). Error codes
Microsoft does not document are the simulator's own.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from aiohttp import web

from simulator.arm import (
    PRIMARY_REGION,
    RECOVERY_REGION,
    RG,
    Cloud,
    Operation,
    OperationBook,
    RouteTable,
    SimError,
    accepted,
    iso,
    utcnow,
)
from simulator.dependencies import Dependencies, VirtualMachine

_VNET = RG + r"/microsoft\.network/virtualnetworks/(?P<vnet>[^/]+)"
_GW = RG + r"/microsoft\.network/virtualnetworkgateways/(?P<gw>[^/]+)"
_VAULT = RG + r"/microsoft\.recoveryservices/vaults/(?P<vault>[^/]+)"
_VOLUME = (
    RG + r"/microsoft\.netapp/netappaccounts/(?P<account>[^/]+)/capacitypools/(?P<pool>[^/]+)/volumes/(?P<volume>[^/]+)"
)
_NETAPP_OP = (
    r"/subscriptions/(?P<sub>[^/]+)/providers/microsoft\.netapp/locations/(?P<loc>[^/]+)/operationresults/(?P<op>[^/]+)"
)
_BACKUP_ITEM = _VAULT + r"/backupfabrics/azure/protectioncontainers/(?P<container>[^/]+)/protecteditems/(?P<item>[^/]+)"
_VM = RG + r"/microsoft\.compute/virtualmachines/(?P<vm>[^/]+)"

NETAPP_API = "2026-08-01"
BACKUP_API = "2025-08-01"

# ---- the demo estate (names) -------------------------------------------------------------------
DEMO_NETRG = "rg-net-neu"
DEMO_RECOVERY_VNET = "vnet-avd-neu"
DEMO_PRIMARY_NETRG = "rg-net-weu"
DEMO_PRIMARY_VNET = "vnet-avd-weu"
DEMO_GATEWAY = "vgw-neu"
DEMO_CONNECTION = "cn-neu-onprem"
DEMO_DRILLRG = "rg-dr-neu"
DEMO_DRILL_VNET = "vnet-drill-neu"
DEMO_ASRRG = "rg-dr-neu"
DEMO_VAULT = "rsv-dr-neu"
DEMO_NETAPPRG = "rg-avd-neu"
DEMO_NETAPP_ACCOUNT = "anf-contoso-neu"
DEMO_NETAPP_POOL = "pool-premium"
DEMO_NETAPP_VOLUME = "vol-fslogix-neu"
DEMO_BACKUPRG = "rg-backup-weu"
DEMO_BACKUP_VAULT = "rsv-backup-weu"
DEMO_BACKUP_VMRG = "rg-apps-weu"
DEMO_BACKUP_VM = "vm-app-0001"


@dataclass
class SitesConfig:
    """Knobs, in simulated seconds. Change them on `of(estate).config`."""

    netapp_break_seconds: float = 30.0
    restore_seconds: float = 1200.0  # an Azure Backup VM restore (Azure: often 20 minutes to hours)
    # Resource name (volume, backed-up VM) -> error text: its next break / restore ends Failed.
    failing: dict[str, str] = field(default_factory=dict)


@dataclass
class VirtualNetwork:
    resource_group: str
    name: str
    location: str
    prefixes: list[str]
    subnets: list[str] = field(default_factory=lambda: ["default"])


@dataclass
class Connection:
    name: str
    connection_type: str = "IPsec"  # IPsec | ExpressRoute | Vnet2Vnet
    status: str = "Connected"  # Connected | Connecting | NotConnected | Unknown


@dataclass
class Gateway:
    resource_group: str
    name: str
    location: str
    vnet: str  # the virtual network's name (same resource group)
    gateway_type: str = "Vpn"  # Vpn | ExpressRoute
    sku: str = "VpnGw2AZ"
    provisioning_state: str = "Succeeded"
    connections: list[Connection] = field(default_factory=list)


@dataclass
class NetworkMapping:
    name: str
    primary_network_id: str
    recovery_network_id: str
    primary_location: str
    recovery_location: str
    state: str = "Paired"


@dataclass
class Volume:
    """A destination (data protection) volume of a cross-region replication."""

    resource_group: str
    account: str
    pool: str
    name: str
    location: str
    remote_volume_id: str
    remote_region: str
    schedule: str = "_10minutely"
    mirror_state: str = "Mirrored"  # Uninitialized | Mirrored | Broken
    relationship_status: str = "Idle"  # Idle | Transferring
    operation: Operation | None = None
    break_calls: int = 0


@dataclass
class RecoveryPoint:
    name: str
    time: datetime
    kind: str = "AppConsistent"


@dataclass
class BackupItem:
    """An Azure VM protected by Azure Backup (IaasVMContainer / VM item names as Azure builds them)."""

    vault_rg: str
    vault: str
    vm_rg: str
    vm: str
    location: str
    points: list[RecoveryPoint] = field(default_factory=list)

    @property
    def container(self) -> str:
        return f"iaasvmcontainer;iaasvmcontainerv2;{self.vm_rg};{self.vm}".lower()

    @property
    def item(self) -> str:
        return f"vm;iaasvmcontainerv2;{self.vm_rg};{self.vm}".lower()


@dataclass
class Restore:
    job_id: str
    item: BackupItem
    recovery_point: str
    target_rg: str
    target_vm: str
    network_id: str
    subnet_id: str
    body: dict[str, Any]
    operation: Operation | None = None


class Sites(OperationBook):
    """Network, NetApp and Backup resources of one estate. Every method takes the estate's lock."""

    def __init__(self, cloud: Cloud, subscription_id: str, dependencies: Dependencies) -> None:
        super().__init__(cloud)
        self.subscription_id = subscription_id
        self.dependencies = dependencies  # the VMs a restore creates and a VM delete removes
        self.config = SitesConfig()
        self.vnets: dict[tuple[str, str], VirtualNetwork] = {}
        self.gateways: dict[tuple[str, str], Gateway] = {}
        self.mappings: dict[tuple[str, str], list[NetworkMapping]] = {}  # (vault rg, vault) -> mappings
        self.volumes: dict[tuple[str, str, str, str], Volume] = {}
        self.backup_items: dict[tuple[str, str], BackupItem] = {}  # (vm rg, vm)
        self.restores: dict[str, Restore] = {}
        self.deleted_vms: list[str] = []

    # ---- operations (simulator.operations.OperationBook: start, refresh, look up) ----------------
    def _finish(self, op: Operation) -> None:
        op.status = "Failed" if op.fail_with else "Succeeded"
        if op.fail_with:
            op.error = {"code": "OperationFailed", "message": op.fail_with}
        if op.kind == "netapp.break":
            volume: Volume = op.target
            volume.operation = None
            if op.status == "Succeeded":
                volume.mirror_state, volume.relationship_status = "Broken", "Idle"
        elif op.kind == "backup.restore" and op.status == "Succeeded":
            restore: Restore = op.target
            self._restored_vm(restore, running=True)

    def _restored_vm(self, restore: Restore, running: bool) -> None:
        """The restored VM is a real VM of the estate: it starts, and sends Heartbeat (simulator.network counts
        running VMs of `simulator.dependencies`)."""
        deps = self.dependencies
        key = (restore.target_rg.lower(), restore.target_vm.lower())
        if running:
            deps.vms[key] = VirtualMachine(
                restore.target_rg,
                restore.target_vm,
                restore.item.location,
                power_state="running",
                vm_id=str(uuid.uuid4()),
            )
        else:
            deps.vms.pop(key, None)

    # ---- network --------------------------------------------------------------------------
    def vnet(self, rg: str, name: str) -> VirtualNetwork:
        vnet = self.vnets.get((rg.lower(), name.lower()))
        if vnet is None:
            raise SimError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.Network/virtualNetworks/{name}' under resource group '{rg}' was not found.",
            )
        return vnet

    def gateway(self, rg: str, name: str) -> Gateway:
        gateway = self.gateways.get((rg.lower(), name.lower()))
        if gateway is None:
            raise SimError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.Network/virtualNetworkGateways/{name}' under resource group '{rg}' "
                "was not found.",
            )
        return gateway

    def set_connection(self, gateway: str, status: str) -> None:
        """Every connection of the gateway of that name reports `status` (e.g. NotConnected: the tunnel is down)."""
        with self.lock:
            for gw in self.gateways.values():
                if gw.name.lower() == gateway.lower():
                    for connection in gw.connections:
                        connection.status = status

    # ---- NetApp ---------------------------------------------------------------------------
    def volume(self, rg: str, account: str, pool: str, name: str) -> Volume:
        with self.lock:
            self.refresh()
            volume = self.volumes.get((rg.lower(), account.lower(), pool.lower(), name.lower()))
            if volume is None:
                raise SimError(
                    404,
                    "ResourceNotFound",
                    f"The Resource 'Microsoft.NetApp/netAppAccounts/{account}/capacityPools/{pool}/volumes/{name}' "
                    f"under resource group '{rg}' was not found.",
                )
            return volume

    def break_replication(self, rg: str, account: str, pool: str, name: str, force: bool) -> Operation:
        with self.lock:
            volume = self.volume(rg, account, pool, name)
            volume.break_calls += 1
            if volume.operation is not None:
                raise SimError(409, "Conflict", f"A break of the replication of volume '{name}' is in progress.")
            if volume.mirror_state == "Broken":
                raise SimError(400, "VolumeReplicationBroken", f"The replication of volume '{name}' is already broken.")
            if volume.relationship_status == "Transferring" and not force:
                raise SimError(
                    400,
                    "VolumeReplicationTransferInProgress",
                    f"A transfer to volume '{name}' is in progress: wait, or set forceBreakReplication.",
                )
            op = self._start(
                "netapp.break",
                "microsoft.netapp",
                volume.location,
                volume,
                self.config.netapp_break_seconds,
                self.config.failing.get(volume.name),
            )
            volume.operation = op
            return op

    # ---- Backup ---------------------------------------------------------------------------
    def backup_item(self, vault_rg: str, vault: str, container: str, item: str) -> BackupItem:
        with self.lock:
            self.refresh()
            for entry in self.backup_items.values():
                if (
                    entry.vault_rg.lower() == vault_rg.lower()
                    and entry.vault.lower() == vault.lower()
                    and entry.container == container.lower()
                    and entry.item == item.lower()
                ):
                    return entry
            raise SimError(404, "BMSUserErrorItemNotFound", f"Item '{item}' not found in vault '{vault}'.")

    def trigger_restore(self, entry: BackupItem, point: str, body: dict[str, Any]) -> Restore:
        with self.lock:
            if not any(p.name == point for p in entry.points):
                raise SimError(404, "BMSUserErrorRecoveryPointNotFound", f"Recovery point '{point}' not found.")
            props = body.get("properties") or {}
            if props.get("objectType") != "IaasVMRestoreRequest":
                raise SimError(400, "BMSUserErrorInvalidInput", "properties.objectType must be IaasVMRestoreRequest.")
            if props.get("recoveryType") != "AlternateLocation":
                raise SimError(
                    400, "BMSUserErrorInvalidInput", "The simulator restores to an alternate location only."
                )  # an original-location restore would overwrite the production VM
            for name in ("targetVirtualMachineId", "virtualNetworkId", "subnetId", "storageAccountId"):
                if not props.get(name):
                    raise SimError(400, "BMSUserErrorInvalidInput", f"properties.{name} is required.")
            target_id = str(props["targetVirtualMachineId"])
            parts = target_id.strip("/").split("/")
            if len(parts) < 8:
                raise SimError(400, "BMSUserErrorInvalidInput", "properties.targetVirtualMachineId is not a VM id.")
            target_rg, target_vm = parts[3], parts[-1]
            if (target_rg.lower(), target_vm.lower()) == (entry.vm_rg.lower(), entry.vm.lower()):
                raise SimError(400, "BMSUserErrorInvalidInput", "The target VM is the protected VM itself.")
            busy = [r for r in self.restores.values() if r.target_vm.lower() == target_vm.lower()]
            if any(r.operation and r.operation.status == "InProgress" for r in busy):
                raise SimError(409, "BMSUserErrorConflictingOperation", f"A restore to {target_vm} is in progress.")
            job_id = str(uuid.uuid4())
            restore = Restore(
                job_id, entry, point, target_rg, target_vm, str(props["virtualNetworkId"]), str(props["subnetId"]), body
            )
            restore.operation = self._start(
                "backup.restore",
                "microsoft.recoveryservices",
                entry.location,
                restore,
                self.config.restore_seconds,
                self.config.failing.get(entry.vm),
            )
            self.restores[job_id] = restore
            return restore

    def restore_job(self, job_id: str) -> Restore:
        with self.lock:
            self.refresh()
            restore = self.restores.get(job_id.lower())
            if restore is None:
                raise SimError(404, "BMSUserErrorJobNotFound", f"Job '{job_id}' not found.")
            return restore

    def delete_vm(self, rg: str, name: str) -> bool:
        """Delete a VM (only restored VMs and the standby VMs are simulated). False when there is none."""
        with self.lock:
            self.refresh()
            vm = self.dependencies.vms.pop((rg.lower(), name.lower()), None)
            if vm is not None:
                self.deleted_vms.append(name)
            return vm is not None

    # ---- the demo estate ------------------------------------------------------------------
    def seed_demo(self, primary: str = PRIMARY_REGION, recovery: str = RECOVERY_REGION) -> Sites:
        """The recovery VNet with a VPN gateway connected to on-premises, the primary VNet, the drill VNet, an ASR
        network mapping weu → neu, the FSLogix NetApp destination volume, and a backed-up app VM."""
        sub = self.subscription_id
        with self.lock:
            for vnet in (
                VirtualNetwork(
                    DEMO_NETRG, DEMO_RECOVERY_VNET, recovery, ["10.20.0.0/16"], ["default", "GatewaySubnet"]
                ),
                VirtualNetwork(DEMO_PRIMARY_NETRG, DEMO_PRIMARY_VNET, primary, ["10.10.0.0/16"]),
                VirtualNetwork(DEMO_DRILLRG, DEMO_DRILL_VNET, recovery, ["10.99.0.0/16"]),
            ):
                self.vnets[(vnet.resource_group.lower(), vnet.name.lower())] = vnet
            self.gateways[(DEMO_NETRG, DEMO_GATEWAY)] = Gateway(
                DEMO_NETRG, DEMO_GATEWAY, recovery, DEMO_RECOVERY_VNET, connections=[Connection(DEMO_CONNECTION)]
            )
            self.mappings[(DEMO_ASRRG, DEMO_VAULT)] = [
                NetworkMapping(
                    "weu-to-neu",
                    vnet_id(sub, DEMO_PRIMARY_NETRG, DEMO_PRIMARY_VNET),
                    vnet_id(sub, DEMO_NETRG, DEMO_RECOVERY_VNET),
                    primary,
                    recovery,
                )
            ]
            remote = (
                f"/subscriptions/{sub}/resourceGroups/rg-avd-weu/providers/Microsoft.NetApp/netAppAccounts/"
                f"anf-contoso-weu/capacityPools/{DEMO_NETAPP_POOL}/volumes/vol-fslogix-weu"
            )
            self.volumes[(DEMO_NETAPPRG, DEMO_NETAPP_ACCOUNT, DEMO_NETAPP_POOL, DEMO_NETAPP_VOLUME)] = Volume(
                DEMO_NETAPPRG, DEMO_NETAPP_ACCOUNT, DEMO_NETAPP_POOL, DEMO_NETAPP_VOLUME, recovery, remote, primary
            )
            now = utcnow()
            self.backup_items[(DEMO_BACKUP_VMRG, DEMO_BACKUP_VM)] = BackupItem(
                DEMO_BACKUPRG,
                DEMO_BACKUP_VAULT,
                DEMO_BACKUP_VMRG,
                DEMO_BACKUP_VM,
                primary,
                [RecoveryPoint(str(90000000000000 + days), now - timedelta(days=days, hours=2)) for days in range(3)],
            )
        return self

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            self.refresh()
            return {
                "gateways": [
                    {"name": g.name, "connections": {c.name: c.status for c in g.connections}}
                    for g in self.gateways.values()
                ],
                "volumes": [
                    {"name": v.name, "mirror_state": v.mirror_state, "break_calls": v.break_calls}
                    for v in self.volumes.values()
                ],
                "restores": [
                    {
                        "job": r.job_id,
                        "vm": r.item.vm,
                        "target_vm": r.target_vm,
                        "network_id": r.network_id,
                        "status": r.operation.status if r.operation else None,
                    }
                    for r in self.restores.values()
                ],
                "deleted_vms": list(self.deleted_vms),
            }


class HasSites(Protocol):
    sites: Sites


def of(estate: HasSites) -> Sites:
    """The network, NetApp and Backup resources of an estate (`estate.sites`)."""
    return estate.sites


def vnet_id(sub: str, rg: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{name}"


# ---- HTTPS routes ----------------------------------------------------------------------------
class Routes:
    """The handlers, over one estate's `Sites`; LRO headers point back at `table.base_url`."""

    def __init__(self, table: RouteTable, sites: Sites) -> None:
        self.table = table
        self.sites = sites

    def _accepted(self, sub: str, op: Operation, provider: str, api: str) -> web.Response:
        base = f"{self.table.base_url}/subscriptions/{sub}/providers/{provider}"
        url = f"{base}/locations/{op.location}/operationResults/{op.id}"
        return accepted(
            async_operation=f"{url}?api-version={api}",
            location=f"{url}?api-version={api}&operationResultResponseType=Location",
            retry_after=0,
        )

    # -- network
    async def vnet_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.sites.lock:
            vnet = self.sites.vnet(m["rg"], m["vnet"])
            vid = vnet_id(m["sub"], vnet.resource_group, vnet.name)
            subnets = [
                {
                    "id": f"{vid}/subnets/{name}",
                    "name": name,
                    "type": "Microsoft.Network/virtualNetworks/subnets",
                    "properties": {
                        "addressPrefix": vnet.prefixes[0].replace("0.0/16", f"{index}.0/24"),
                        "provisioningState": "Succeeded",
                    },
                }
                for index, name in enumerate(vnet.subnets)
            ]
            return web.json_response(
                {
                    "id": vid,
                    "name": vnet.name,
                    "type": "Microsoft.Network/virtualNetworks",
                    "location": vnet.location,
                    "etag": 'W/"00000000-0000-0000-0000-000000000000"',
                    "properties": {
                        "provisioningState": "Succeeded",
                        "resourceGuid": str(uuid.uuid5(uuid.NAMESPACE_URL, vid)),
                        "addressSpace": {"addressPrefixes": list(vnet.prefixes)},
                        "subnets": subnets,
                        "virtualNetworkPeerings": [],
                        "enableDdosProtection": False,
                    },
                }
            )

    def _gateway_id(self, sub: str, gw: Gateway) -> str:
        return (
            f"/subscriptions/{sub}/resourceGroups/{gw.resource_group}/providers/Microsoft.Network/"
            f"virtualNetworkGateways/{gw.name}"
        )

    async def gateway_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.sites.lock:
            gw = self.sites.gateway(m["rg"], m["gw"])
            gid = self._gateway_id(m["sub"], gw)
            subnet = f"{vnet_id(m['sub'], gw.resource_group, gw.vnet)}/subnets/GatewaySubnet"
            return web.json_response(
                {
                    "id": gid,
                    "name": gw.name,
                    "type": "Microsoft.Network/virtualNetworkGateways",
                    "location": gw.location,
                    "properties": {
                        "provisioningState": gw.provisioning_state,
                        "gatewayType": gw.gateway_type,
                        "vpnType": "RouteBased",
                        "vpnGatewayGeneration": "Generation2",
                        "enableBgp": False,
                        "activeActive": False,
                        "sku": {"name": gw.sku, "tier": gw.sku, "capacity": 2},
                        "ipConfigurations": [
                            {
                                "id": f"{gid}/ipConfigurations/default",
                                "name": "default",
                                "properties": {
                                    "privateIPAllocationMethod": "Dynamic",
                                    "subnet": {"id": subnet},
                                    "provisioningState": "Succeeded",
                                },
                            }
                        ],
                    },
                }
            )

    async def gateway_connections(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.sites.lock:
            gw = self.sites.gateway(m["rg"], m["gw"])
            gid = self._gateway_id(m["sub"], gw)
            rg_id = gid.split("/providers/")[0]
            value = [
                {
                    "id": f"{rg_id}/providers/Microsoft.Network/connections/{c.name}",
                    "name": c.name,
                    "type": "Microsoft.Network/connections",
                    "location": gw.location,
                    "properties": {
                        "virtualNetworkGateway1": {"id": gid},
                        "localNetworkGateway2": {
                            "id": f"{rg_id}/providers/Microsoft.Network/localNetworkGateways/lgw-onprem"
                        },
                        "connectionType": c.connection_type,
                        "connectionStatus": c.status,
                        "connectionProtocol": "IKEv2",
                        "routingWeight": 0,
                        "enableBgp": False,
                        "provisioningState": "Succeeded",
                        "ingressBytesTransferred": 0,
                        "egressBytesTransferred": 0,
                    },
                }
                for c in gw.connections
            ]
            return web.json_response({"value": value})

    async def network_mappings(self, request: web.Request, m: dict[str, str]) -> web.Response:
        vault_id = (
            f"/Subscriptions/{m['sub']}/resourceGroups/{m['rg']}/providers/Microsoft.RecoveryServices/vaults/"
            f"{m['vault']}"
        )
        with self.sites.lock:
            mappings = self.sites.mappings.get((m["rg"].lower(), m["vault"].lower()), [])
            value = []
            for mapping in mappings:
                primary_net = mapping.primary_network_id.rsplit("/", 1)[-1]
                fabric = f"asr-a2a-default-{mapping.primary_location}"
                value.append(
                    {
                        "id": f"{vault_id}/replicationFabrics/{fabric}/replicationNetworks/{primary_net}/"
                        f"replicationNetworkMappings/{mapping.name}",
                        "name": mapping.name,
                        "type": "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationNetworks/"
                        "replicationNetworkMappings",
                        "properties": {
                            "state": mapping.state,
                            "primaryNetworkFriendlyName": primary_net,
                            "primaryNetworkId": mapping.primary_network_id,
                            "primaryFabricFriendlyName": mapping.primary_location,
                            "recoveryNetworkFriendlyName": mapping.recovery_network_id.rsplit("/", 1)[-1],
                            "recoveryNetworkId": mapping.recovery_network_id,
                            "recoveryFabricArmId": f"{vault_id}/replicationFabrics/asr-a2a-default-"
                            f"{mapping.recovery_location}",
                            "recoveryFabricFriendlyName": mapping.recovery_location,
                            "fabricSpecificSettings": {
                                "instanceType": "AzureToAzure",
                                "primaryFabricLocation": mapping.primary_location,
                                "recoveryFabricLocation": mapping.recovery_location,
                            },
                        },
                    }
                )
            return web.json_response({"value": value})

    # -- NetApp
    def _volume_json(self, sub: str, v: Volume) -> dict[str, Any]:
        vid = (
            f"/subscriptions/{sub}/resourceGroups/{v.resource_group}/providers/Microsoft.NetApp/netAppAccounts/"
            f"{v.account}/capacityPools/{v.pool}/volumes/{v.name}"
        )
        return {
            "id": vid,
            "name": f"{v.account}/{v.pool}/{v.name}",
            "type": "Microsoft.NetApp/netAppAccounts/capacityPools/volumes",
            "location": v.location,
            "properties": {
                "fileSystemId": str(uuid.uuid5(uuid.NAMESPACE_URL, vid)),
                "creationToken": v.name,
                "serviceLevel": "Premium",
                "usageThreshold": 4398046511104,
                "protocolTypes": ["CIFS"],
                "provisioningState": "Succeeded",
                "volumeType": "DataProtection",
                "subnetId": f"{vnet_id(sub, DEMO_NETRG, DEMO_RECOVERY_VNET)}/subnets/anf",
                "dataProtection": {
                    "replication": {
                        "endpointType": "dst",
                        "replicationSchedule": v.schedule,
                        "remoteVolumeResourceId": v.remote_volume_id,
                        "remoteVolumeRegion": v.remote_region,
                    }
                },
            },
        }

    async def volume_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.sites.lock:
            volume = self.sites.volume(m["rg"], m["account"], m["pool"], m["volume"])
            return web.json_response(self._volume_json(m["sub"], volume))

    async def replication_status(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.sites.lock:
            v = self.sites.volume(m["rg"], m["account"], m["pool"], m["volume"])
            return web.json_response(
                {
                    "healthy": v.mirror_state != "Uninitialized",
                    "relationshipStatus": v.relationship_status,
                    "mirrorState": v.mirror_state,
                    "totalProgress": "1048576",
                    "errorMessage": "",
                }
            )

    async def break_replication(self, request: web.Request, m: dict[str, str]) -> web.Response:
        raw = await request.read()
        body = json.loads(raw) if raw else {}
        force = bool((body or {}).get("forceBreakReplication"))
        op = self.sites.break_replication(m["rg"], m["account"], m["pool"], m["volume"], force)
        return self._accepted(m["sub"], op, "Microsoft.NetApp", NETAPP_API)

    async def netapp_operation(self, request: web.Request, m: dict[str, str]) -> web.Response:
        op = self.sites.operation(m["op"], "microsoft.netapp")
        with self.sites.lock:
            if request.query.get("operationResultResponseType") == "Location":
                if op.status == "InProgress":
                    return self._accepted(m["sub"], op, "Microsoft.NetApp", NETAPP_API)
                if op.status == "Failed":
                    return web.json_response(
                        {"error": {"code": "OperationFailed", "message": _message(op)}}, status=400
                    )
                return web.Response(status=200)
            body: dict[str, Any] = {
                "id": request.path,
                "name": op.id,
                "status": op.status,
                "startTime": iso(op.started_at),
                "percentComplete": 100.0 if op.status != "InProgress" else 50.0,
            }
            if op.ended_at:
                body["endTime"] = iso(op.ended_at)
            if op.error:
                body["error"] = {"code": "VolumeReplicationBreakFailed", "message": _message(op)}
            return web.json_response(body)

    # -- Backup
    async def recovery_points(self, request: web.Request, m: dict[str, str]) -> web.Response:
        entry = self.sites.backup_item(m["rg"], m["vault"], m["container"], m["item"])
        base = request.path
        with self.sites.lock:
            points = sorted(entry.points, key=lambda p: p.time, reverse=True)
            value = [
                {
                    "id": f"{base}/{p.name}",
                    "name": p.name,
                    "type": "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/"
                    "recoveryPoints",
                    "properties": {
                        "objectType": "IaasVMRecoveryPoint",
                        "recoveryPointType": p.kind,
                        "recoveryPointTime": iso(p.time),
                        "sourceVMStorageType": "PremiumVMOnPartialPremiumStorage",
                        "isSourceVMEncrypted": False,
                        "isManagedVirtualMachine": True,
                        "originalStorageAccountOption": False,
                        "osType": "Windows",
                        "virtualMachineSize": "Standard_D4s_v5",
                        "zones": None,
                    },
                }
                for p in points
            ]
            return web.json_response({"value": value})

    async def restore(self, request: web.Request, m: dict[str, str]) -> web.Response:
        entry = self.sites.backup_item(m["rg"], m["vault"], m["container"], m["item"])
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError as err:
            raise SimError(400, "BMSUserErrorInvalidInput", "The body is not JSON.") from err
        restore = self.sites.trigger_restore(entry, m["point"], body if isinstance(body, dict) else {})
        vault = request.path.split("/backupFabrics/")[0]
        return web.Response(
            status=202,
            headers={
                "Location": f"{self.table.base_url}{vault}/backupJobs/{restore.job_id}?api-version={BACKUP_API}",
                "Azure-AsyncOperation": f"{self.table.base_url}{vault}/backupJobs/{restore.job_id}"
                f"?api-version={BACKUP_API}",
                "Retry-After": "0",
            },
        )

    async def backup_job(self, request: web.Request, m: dict[str, str]) -> web.Response:
        restore = self.sites.restore_job(m["job"])
        with self.sites.lock:
            op = restore.operation
            assert op is not None
            status = {"InProgress": "InProgress", "Succeeded": "Completed", "Failed": "Failed"}[op.status]
            props: dict[str, Any] = {
                "jobType": "AzureIaaSVMJob",
                "entityFriendlyName": restore.item.vm,
                "backupManagementType": "AzureIaasVM",
                "operation": "Restore",
                "status": status,
                "startTime": iso(op.started_at),
                "activityId": restore.job_id,
                "virtualMachineVersion": "Compute",
                "extendedInfo": {
                    "propertyBag": {
                        "Recovery point time": iso(
                            next(p.time for p in restore.item.points if p.name == restore.recovery_point)
                        ),
                        "Target VM Name": restore.target_vm,
                        "Target resource group": restore.target_rg,
                    },
                    "tasksList": [{"taskId": "Transfer data from vault", "status": status}],
                },
            }
            if op.ended_at:
                props["endTime"] = iso(op.ended_at)
                props["duration"] = _timespan(op.ended_at - op.started_at)
            if op.error:
                props["errorDetails"] = [{"errorCode": 400001, "errorString": _message(op), "recommendations": []}]
            return web.json_response(
                {
                    "id": request.path,
                    "name": restore.job_id,
                    "type": "Microsoft.RecoveryServices/vaults/backupJobs",
                    "properties": {"objectType": "AzureIaaSVMJob", **props},
                }
            )

    async def vm_delete(self, request: web.Request, m: dict[str, str]) -> web.Response:
        existed = self.sites.delete_vm(m["rg"], m["vm"])
        return web.Response(status=200 if existed else 204)

    async def sim_state(self, request: web.Request, m: dict[str, str]) -> web.Response:
        return web.json_response(self.sites.snapshot())


def _message(op: Operation) -> str:
    return (op.error or {}).get("message") or "The operation failed."


def _timespan(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def add_routes(table: RouteTable, sites: Sites) -> None:
    """Register the network, ASR network mapping, NetApp, Backup and VM delete routes."""
    r = Routes(table, sites)
    add = table.add
    add("GET", _VNET + r"$", "network.vnets.get", r.vnet_get)
    add("GET", _GW + r"$", "network.gateways.get", r.gateway_get)
    add("GET", _GW + r"/connections$", "network.gateways.list_connections", r.gateway_connections)
    add("GET", _VAULT + r"/replicationnetworkmappings$", "asr.networkmappings.list", r.network_mappings)
    add("GET", _VOLUME + r"$", "netapp.volumes.get", r.volume_get)
    add("GET", _VOLUME + r"/replicationstatus$", "netapp.volumes.replication_status", r.replication_status)
    add("POST", _VOLUME + r"/breakreplication$", "netapp.volumes.break_replication", r.break_replication)
    add("GET", _NETAPP_OP + r"$", "netapp.operations.get", r.netapp_operation)
    add("GET", _BACKUP_ITEM + r"/recoverypoints$", "backup.recoverypoints.list", r.recovery_points)
    add("POST", _BACKUP_ITEM + r"/recoverypoints/(?P<point>[^/]+)/restore$", "backup.restores.trigger", r.restore)
    add("GET", _VAULT + r"/backupjobs/(?P<job>[^/]+)$", "backup.jobs.get", r.backup_job)
    add("DELETE", _VM + r"$", "compute.vms.delete", r.vm_delete)
    add("GET", r"/_sim/sites$", "sim.sites", r.sim_state)
