"""The runbook's other Azure dependencies, under the names callers used before they moved to one module each:
SQL failover groups (`simulator.providers.sql`), a storage account failover for the FSLogix profiles
(`simulator.providers.storage`), standby VMs (`simulator.providers.compute`) and an Azure Automation webhook whose
runbook calls the service back when it is done (`simulator.providers.automation`).

`Dependencies` (one per `Estate`: `estate.dependencies`, `of(estate)`) composes the four providers on one
`DependencyConfig` and shows their state and operations under the old names (`failover_groups`, `accounts`, `vms`,
`webhooks`, `webhook_calls`, `operations`, `finish_running()`, ...); the region outages SQL, storage and Traffic
Manager follow are the estate's (`Cloud.regions`), shown here as `outages`, `region_down` and `region_up`.
`add_routes` registers the four providers' routes and `GET /_sim/dependencies`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from aiohttp import web

from simulator.arm import PRIMARY_REGION, RECOVERY_REGION, Cloud, Operation, RouteTable, SimError, iso
from simulator.providers import automation, compute, sql, storage
from simulator.providers.automation import DEMO_WEBHOOK, Automation, Webhook, WebhookCall
from simulator.providers.compute import (
    DEMO_SESSION_HOST_DOMAIN,
    DEMO_STANDBY_HOST_POOL,
    DEMO_STANDBY_RG,
    DEMO_STANDBY_VMS,
    Compute,
    VirtualMachine,
)
from simulator.providers.desktop_virtualization import DesktopVirtualization
from simulator.providers.sql import (
    DEMO_FAILOVER_GROUP,
    DEMO_SQL_DATABASES,
    DEMO_SQL_PRIMARY,
    DEMO_SQL_PRIMARY_RG,
    DEMO_SQL_SECONDARY,
    DEMO_SQL_SECONDARY_RG,
    FailoverGroup,
    Sql,
    SqlServer,
)
from simulator.providers.storage import DEMO_STORAGE_ACCOUNT, DEMO_STORAGE_RG, Storage, StorageAccount

__all__ = [
    "DEMO_FAILOVER_GROUP",
    "DEMO_SESSION_HOST_DOMAIN",
    "DEMO_SQL_DATABASES",
    "DEMO_SQL_PRIMARY",
    "DEMO_SQL_PRIMARY_RG",
    "DEMO_SQL_SECONDARY",
    "DEMO_SQL_SECONDARY_RG",
    "DEMO_STANDBY_HOST_POOL",
    "DEMO_STANDBY_RG",
    "DEMO_STANDBY_VMS",
    "DEMO_STORAGE_ACCOUNT",
    "DEMO_STORAGE_RG",
    "DEMO_WEBHOOK",
    "Dependencies",
    "DependencyConfig",
    "FailoverGroup",
    "SqlServer",
    "StorageAccount",
    "VirtualMachine",
    "Webhook",
    "WebhookCall",
    "add_routes",
    "of",
    "webhook_url",
]


@dataclass
class DependencyConfig:
    """Knobs, in simulated seconds unless said otherwise. Change them on `of(estate).config` (SQL, storage and
    compute read this one object: `SqlKnobs`, `StorageKnobs`, `ComputeKnobs`)."""

    sql_failover_seconds: float = 60.0  # a friendly (planned) failover group failover
    sql_forced_failover_seconds: float = 20.0  # forceFailoverAllowDataLoss
    storage_failover_seconds: float = 900.0  # a storage account failover (Azure: typically under an hour)
    storage_sync_lag_seconds: float = 240.0  # geoReplicationStats.lastSyncTime lags the primary by this much
    vm_start_seconds: float = 90.0
    vm_deallocate_seconds: float = 60.0
    vm_create_seconds: float = 180.0  # a session host VM built from an image, until it runs
    session_host_register_seconds: float = 120.0  # the AVD agent installs and registers (then Available)
    # Resource name (failover group, storage account or VM) -> error text: its next operation ends Failed.
    failing: dict[str, str] = field(default_factory=dict)


class Dependencies:
    """SQL, storage, VMs and webhooks of one estate, composed: each provider keeps its own state (`sql`, `storage`,
    `compute`, `automation`); this shows it under the names callers use. Every method takes the estate's lock."""

    def __init__(self, cloud: Cloud, config: DependencyConfig | None, avd: DesktopVirtualization) -> None:
        self.cloud = cloud
        self.config = config or DependencyConfig()
        self.avd = avd
        self.sql = Sql(cloud, self.config)
        self.storage = Storage(cloud, self.config)
        self.compute = Compute(cloud, self.config, avd)  # a standby VM's session host follows its power state
        self.automation = Automation(cloud)

    @property
    def lock(self) -> AbstractContextManager[Any]:
        return self.cloud.lock

    # ---- the providers' state, under the names callers use --------------------------------
    @property
    def servers(self) -> dict[tuple[str, str], SqlServer]:
        return self.sql.servers

    @property
    def failover_groups(self) -> dict[str, FailoverGroup]:
        return self.sql.failover_groups

    @property
    def accounts(self) -> dict[tuple[str, str], StorageAccount]:
        return self.storage.accounts

    @property
    def vms(self) -> dict[tuple[str, str], VirtualMachine]:
        return self.compute.vms

    @property
    def webhooks(self) -> dict[str, Webhook]:
        return self.automation.webhooks

    @property
    def webhook_calls(self) -> list[WebhookCall]:
        return self.automation.webhook_calls

    # ---- regions (the estate's `Cloud.regions`) -------------------------------------------
    @property
    def outages(self) -> dict[str, datetime]:
        """Region -> since when it is unreachable."""
        return self.cloud.regions.outages

    def region_down(self, region: str) -> None:
        """Declare a region unreachable: a storage primary there reports `unavailable` (its lastSyncTime stops),
        a planned storage failover is refused, and a friendly SQL failover from a primary there fails."""
        self.cloud.regions.down(region)

    def region_up(self, region: str) -> None:
        self.cloud.regions.up(region)

    # ---- operations (each provider's `simulator.arm.OperationBook`) -----------------------
    def _books(self) -> tuple[Sql, Storage, Compute]:
        return (self.sql, self.storage, self.compute)

    @property
    def operations(self) -> dict[str, Operation]:
        """The operations of SQL, storage and compute, by id (a copy: each provider keeps its own)."""
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
    def seed_demo(self, primary: str = PRIMARY_REGION, recovery: str = RECOVERY_REGION) -> Dependencies:
        """SQL servers and failover group, the FSLogix storage account, the standby AVD host pool in the recovery
        region (session hosts on deallocated VMs, closed to new sessions) and the Hyper-V Replica webhook."""
        with self.lock:
            self.sql.seed_demo(primary, recovery)
            self.storage.seed_demo(primary, recovery)
            self.compute.seed_demo(recovery)
            self.automation.seed_demo()
        return self

    # ---- inspection -----------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                **self.sql.snapshot(),
                **self.storage.snapshot(),
                **self.compute.snapshot(),
                **self.automation.snapshot(),
                "outages": {region: iso(at) for region, at in self.outages.items()},
            }

    def call_json(self, call: WebhookCall) -> dict[str, Any]:
        return self.automation.call_json(call)


class HasDependencies(Protocol):
    dependencies: Dependencies


def of(estate: HasDependencies) -> Dependencies:
    """The dependencies of an estate (`estate.dependencies`)."""
    return estate.dependencies


def webhook_url(base_url: str, estate: HasDependencies, name: str) -> str:
    """The URL (with its secret token) a caller POSTs to, as Azure Automation shows it once at creation."""
    hook = of(estate).webhooks[name.lower()]
    return f"{base_url}/automation/webhooks/{hook.name}?token={hook.token}"


def add_routes(table: RouteTable, deps: Dependencies) -> None:
    """Register the SQL, Storage, Compute, Automation webhook and inspection routes."""
    sql.add_routes(table, deps.sql)
    storage.add_routes(table, deps.storage)
    compute.add_routes(table, deps.compute)
    automation.add_routes(table, deps.automation)

    async def sim_state(request: web.Request, m: dict[str, str]) -> web.Response:
        return web.json_response(deps.snapshot())

    table.add("GET", r"/_sim/dependencies$", "sim.dependencies", sim_state)
