"""The rest of the estate the DR guidance names, under the names callers used before it moved to one module per
provider: the recovery region's network (virtual networks, VPN / ExpressRoute gateways and their connections to
on-premises: `simulator.providers.network`), Azure NetApp Files volumes with cross-region replication (FSLogix
profiles: `simulator.providers.netapp`) and Azure Backup (protected VMs, recovery points, restores:
`simulator.providers.backup`). The ASR network mappings are Site Recovery's (`simulator.providers.recovery_services`)
and the VM delete Compute's (`simulator.providers.compute`).

`Sites` (one per `Estate`: `estate.sites`, `of(estate)`) composes the network, NetApp and Backup providers on one
`SitesConfig` and shows their state (and the mappings and deleted VMs) under the old names; `add_routes` registers
the three providers' routes and `GET /_sim/sites`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from simulator.arm import PRIMARY_REGION, RECOVERY_REGION, Cloud, Operation, RouteTable, SimError
from simulator.providers import backup, netapp, network
from simulator.providers.backup import (
    BACKUP_API,
    DEMO_BACKUP_VAULT,
    DEMO_BACKUP_VM,
    DEMO_BACKUP_VMRG,
    DEMO_BACKUPRG,
    Backup,
    BackupItem,
    RecoveryPoint,
    Restore,
)
from simulator.providers.compute import Compute
from simulator.providers.netapp import (
    DEMO_NETAPP_ACCOUNT,
    DEMO_NETAPP_POOL,
    DEMO_NETAPP_VOLUME,
    DEMO_NETAPPRG,
    NETAPP_API,
    NetApp,
    Volume,
)
from simulator.providers.network import (
    DEMO_CONNECTION,
    DEMO_DRILL_VNET,
    DEMO_DRILLRG,
    DEMO_GATEWAY,
    DEMO_NETRG,
    DEMO_PRIMARY_NETRG,
    DEMO_PRIMARY_VNET,
    DEMO_RECOVERY_VNET,
    Connection,
    Gateway,
    Networking,
    VirtualNetwork,
    vnet_id,
)
from simulator.providers.recovery_services import DEMO_ASR_RG, DEMO_VAULT, NetworkMapping, SiteRecovery

DEMO_ASRRG = DEMO_ASR_RG

__all__ = [
    "BACKUP_API",
    "DEMO_ASRRG",
    "DEMO_BACKUPRG",
    "DEMO_BACKUP_VAULT",
    "DEMO_BACKUP_VM",
    "DEMO_BACKUP_VMRG",
    "DEMO_CONNECTION",
    "DEMO_DRILLRG",
    "DEMO_DRILL_VNET",
    "DEMO_GATEWAY",
    "DEMO_NETAPPRG",
    "DEMO_NETAPP_ACCOUNT",
    "DEMO_NETAPP_POOL",
    "DEMO_NETAPP_VOLUME",
    "DEMO_NETRG",
    "DEMO_PRIMARY_NETRG",
    "DEMO_PRIMARY_VNET",
    "DEMO_RECOVERY_VNET",
    "DEMO_VAULT",
    "NETAPP_API",
    "BackupItem",
    "Connection",
    "Gateway",
    "NetworkMapping",
    "RecoveryPoint",
    "Restore",
    "Sites",
    "SitesConfig",
    "VirtualNetwork",
    "Volume",
    "add_routes",
    "of",
    "vnet_id",
]


@dataclass
class SitesConfig:
    """Knobs, in simulated seconds. Change them on `of(estate).config` (NetApp and Backup read this one object:
    `NetAppKnobs`, `BackupKnobs`)."""

    netapp_break_seconds: float = 30.0
    restore_seconds: float = 1200.0  # an Azure Backup VM restore (Azure: often 20 minutes to hours)
    # Resource name (volume, backed-up VM) -> error text: its next break / restore ends Failed.
    failing: dict[str, str] = field(default_factory=dict)


class Sites:
    """Network, NetApp and Backup resources of one estate, composed: each provider keeps its own state
    (`networking`, `netapp`, `backup`); this shows it under the names callers use. Every method takes the estate's
    lock."""

    def __init__(self, cloud: Cloud, subscription_id: str, compute: Compute, asr: SiteRecovery) -> None:
        self.cloud = cloud
        self.subscription_id = subscription_id
        self.compute = compute  # the VMs a restore creates and a VM delete removes
        self.asr = asr  # the ASR network mappings
        self.config = SitesConfig()
        self.networking = Networking(cloud)
        self.netapp = NetApp(cloud, subscription_id, self.config)
        self.backup = Backup(cloud, self.config, compute)
        compute.sources.append(self.backup)  # a VM delete first brings the restores up to date

    @property
    def lock(self) -> AbstractContextManager[Any]:
        return self.cloud.lock

    # ---- the providers' state, under the names callers use --------------------------------
    @property
    def vnets(self) -> dict[tuple[str, str], VirtualNetwork]:
        return self.networking.vnets

    @property
    def gateways(self) -> dict[tuple[str, str], Gateway]:
        return self.networking.gateways

    @property
    def mappings(self) -> dict[tuple[str, str], list[NetworkMapping]]:
        """(vault rg, vault) -> ASR network mappings (`SiteRecovery.network_mappings`)."""
        return self.asr.network_mappings

    @property
    def volumes(self) -> dict[tuple[str, str, str, str], Volume]:
        return self.netapp.volumes

    @property
    def backup_items(self) -> dict[tuple[str, str], BackupItem]:
        return self.backup.backup_items

    @property
    def restores(self) -> dict[str, Restore]:
        return self.backup.restores

    @property
    def deleted_vms(self) -> list[str]:
        return self.compute.deleted_vms

    def set_connection(self, gateway: str, status: str) -> None:
        """Every connection of the gateway of that name reports `status` (e.g. NotConnected: the tunnel is down)."""
        self.networking.set_connection(gateway, status)

    def delete_vm(self, rg: str, name: str) -> bool:
        """Delete a VM (`Compute.delete_vm`). False when there is none."""
        return self.compute.delete_vm(rg, name)

    # ---- operations (NetApp's and Backup's `simulator.arm.OperationBook`) -----------------
    def _books(self) -> tuple[NetApp, Backup]:
        return (self.netapp, self.backup)

    @property
    def operations(self) -> dict[str, Operation]:
        """The operations of NetApp and Backup, by id (a copy: each provider keeps its own)."""
        with self.lock:
            return {op_id: op for book in self._books() for op_id, op in book.operations.items()}

    def refresh(self) -> None:
        """Finish every operation whose simulated time is up and apply its effect."""
        with self.lock:
            for book in self._books():
                book.refresh()

    def finish_running(self) -> None:
        """Make every running operation due now, so it ends on the next read (tests skip simulated waiting)."""
        with self.lock:
            for book in self._books():
                book.finish_running()

    def operation(self, op_id: str, provider: str | None = None) -> Operation:
        """An operation by id; with `provider`, only one of that provider (an id is only known to its own)."""
        with self.lock:
            for book in self._books():
                try:
                    return book.operation(op_id, provider)
                except SimError:
                    continue
            raise SimError(404, "ResourceNotFound", f"The operation '{op_id}' was not found.")

    # ---- the demo estate ------------------------------------------------------------------
    def seed_demo(self, primary: str = PRIMARY_REGION, recovery: str = RECOVERY_REGION) -> Sites:
        """The recovery VNet with a VPN gateway connected to on-premises, the primary VNet, the drill VNet, an ASR
        network mapping weu → neu, the FSLogix NetApp destination volume, and a backed-up app VM."""
        with self.lock:
            self.networking.seed_demo(primary, recovery)
            self.asr.seed_network_mappings(self.subscription_id, primary, recovery)
            self.netapp.seed_demo(primary, recovery)
            self.backup.seed_demo(primary)
        return self

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                **self.networking.snapshot(),
                **self.netapp.snapshot(),
                **self.backup.snapshot(),
                "deleted_vms": list(self.deleted_vms),
            }


class HasSites(Protocol):
    sites: Sites


def of(estate: HasSites) -> Sites:
    """The network, NetApp and Backup resources of an estate (`estate.sites`)."""
    return estate.sites


def add_routes(table: RouteTable, sites: Sites) -> None:
    """Register the network, NetApp and Backup routes and `GET /_sim/sites` (the ASR network mappings and the VM
    delete are registered with Site Recovery's and Compute's routes)."""
    network.add_routes(table, sites.networking)
    netapp.add_routes(table, sites.netapp)
    backup.add_routes(table, sites.backup)

    async def sim_state(request: web.Request, m: dict[str, str]) -> web.Response:
        return web.json_response(sites.snapshot())

    table.add("GET", r"/_sim/sites$", "sim.sites", sim_state)
