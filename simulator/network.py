"""Traffic Manager profiles and the Azure Monitor Logs query API of the simulated estate, under the names callers
used before they moved to one module each (`simulator.providers.traffic_manager`,
`simulator.providers.monitor_logs`).

`Network` (one per `Estate`: `estate.network`) composes the two providers on one `NetworkConfig` (the estate's
`EstateConfig.network`, set to the defaults on first use) and shows their state under the old names (`profiles`,
`workspaces`, `queries`, `heartbeat_rows`, `set_endpoint_health`, ...); `add_routes` registers the two providers'
routes and `GET /_sim/network`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from aiohttp import web

from simulator.arm import Cloud, RouteTable
from simulator.dependencies import Dependencies
from simulator.providers import monitor_logs, traffic_manager
from simulator.providers.desktop_virtualization import DesktopVirtualization
from simulator.providers.monitor_logs import (
    BAD_ARGUMENT,
    DEMO_LOGS_RG,
    DEMO_RECOVERY_HOST_POOL,
    DEMO_WORKSPACE_ID,
    DEMO_WORKSPACE_NAME,
    MonitorLogs,
)
from simulator.providers.recovery_services import SiteRecovery
from simulator.providers.traffic_manager import (
    DEMO_TM_PROFILE,
    DEMO_TM_RG,
    ENDPOINT_BODY,
    ENDPOINT_TYPES,
    MONITOR_STATUSES,
    TM_ERRORS,
    TmEndpoint,
    TmProfile,
    TrafficManager,
    endpoint_json,
    profile_json,
)

__all__ = [
    "BAD_ARGUMENT",
    "DEMO_LOGS_RG",
    "DEMO_RECOVERY_HOST_POOL",
    "DEMO_TM_PROFILE",
    "DEMO_TM_RG",
    "DEMO_WORKSPACE_ID",
    "DEMO_WORKSPACE_NAME",
    "ENDPOINT_BODY",
    "ENDPOINT_TYPES",
    "MONITOR_STATUSES",
    "TM_ERRORS",
    "Network",
    "NetworkConfig",
    "NetworkSettings",
    "TmEndpoint",
    "TmProfile",
    "add_routes",
    "endpoint_json",
    "profile_json",
]


@dataclass
class NetworkConfig:
    """Knobs of the simulated Traffic Manager and Logs. Names are matched case-insensitively."""

    # Traffic Manager: endpoint name -> the monitor status its probes see while it is enabled
    # (one of MONITOR_STATUSES; default Online). E.g. {"weu": "Degraded"} once West Europe is down.
    endpoint_health: dict[str, str] = field(default_factory=dict)
    # Logs
    workspace_id: str = DEMO_WORKSPACE_ID
    always_reporting: tuple[str, ...] = ("dc-onprem-01",)  # computers outside the failed region
    silent_computers: tuple[str, ...] = ()  # never send a heartbeat / agent health row
    primary_reporting: bool = False  # True: VMs still active in the primary region report too
    recovery_host_pool: str = DEMO_RECOVERY_HOST_POOL
    # Session hosts of the recovery host pool. Empty: those of the estate's host pool of that name,
    # or (when the estate has none) `recovery_session_hosts` generated names sh-neu-001.contoso.local, ...
    recovery_session_host_names: tuple[str, ...] = ()
    recovery_session_hosts: int = 4
    session_host_status: dict[str, str] = field(default_factory=dict)  # session host -> agent Status


class NetworkSettings(Protocol):
    """Where the knobs live: `simulator.EstateConfig.network` (None: the defaults, set on first use)."""

    network: NetworkConfig | None


class Network:
    """Traffic Manager profiles and Log Analytics workspaces of one estate, composed: each provider keeps its own
    state (`traffic_manager`, `logs`); this shows it under the names callers use. Uses the estate's lock.

    Logs reads the rest of the estate: ASR's recovery plans (VMs active in the recovery region), AVD's host pools,
    and the VMs of `dependencies` (its compute provider)."""

    def __init__(
        self,
        cloud: Cloud,
        settings: NetworkSettings,
        asr: SiteRecovery,
        avd: DesktopVirtualization,
        dependencies: Dependencies,
    ) -> None:
        self.cloud = cloud
        self.settings = settings
        self.asr = asr
        self.avd = avd
        self.dependencies = dependencies
        self.traffic_manager = TrafficManager(cloud, lambda: self.config)
        self.logs = MonitorLogs(cloud, lambda: self.config, asr, avd, dependencies.compute)

    @property
    def config(self) -> NetworkConfig:
        config = self.settings.network
        if config is None:
            config = self.settings.network = NetworkConfig()
        return config

    @property
    def lock(self) -> Any:
        return self.cloud.lock

    # ---- the providers' state, under the names callers use --------------------------------
    @property
    def profiles(self) -> dict[tuple[str, str], TmProfile]:
        return self.traffic_manager.profiles

    @property
    def workspaces(self) -> set[str]:
        return self.logs.workspaces

    @property
    def queries(self) -> list[dict[str, Any]]:
        return self.logs.queries

    @property
    def workspace_id(self) -> str:
        """The seeded Log Analytics workspace's id (the GUID the Logs API takes)."""
        return self.logs.workspace_id

    # ---- Traffic Manager (`simulator.providers.traffic_manager`) --------------------------
    def region_down(self, location: str | None) -> bool:
        """Whether a location ("West Europe" or "westeurope") is declared down (the estate's `Cloud.regions`)."""
        return self.traffic_manager.region_down(location)

    def monitor_status(self, endpoint: TmEndpoint) -> str:
        return self.traffic_manager.monitor_status(endpoint)

    def add_profile(self, profile: TmProfile) -> TmProfile:
        return self.traffic_manager.add_profile(profile)

    def profile(self, rg: str, name: str) -> TmProfile:
        return self.traffic_manager.profile(rg, name)

    def endpoint(self, rg: str, profile_name: str, endpoint_type: str, name: str) -> TmEndpoint:
        return self.traffic_manager.endpoint(rg, profile_name, endpoint_type, name)

    def set_endpoint_health(self, rg: str, profile_name: str, name: str, health: str) -> None:
        """What the probes see for an endpoint from now on (Online, Degraded, Stopped, ...)."""
        self.traffic_manager.set_endpoint_health(rg, profile_name, name, health)

    def write_endpoint(
        self, rg: str, profile_name: str, endpoint_type: str, name: str, body: dict[str, Any], *, replace: bool
    ) -> tuple[TmEndpoint, bool]:
        """PATCH (merge) or PUT (replace, creating when missing). Returns (endpoint, created)."""
        return self.traffic_manager.write_endpoint(rg, profile_name, endpoint_type, name, body, replace=replace)

    # ---- Logs (`simulator.providers.monitor_logs`) ----------------------------------------
    def add_workspace(self, workspace_id: str) -> None:
        self.logs.add_workspace(workspace_id)

    def reporting_computers(self) -> dict[str, tuple[str, datetime | None]]:
        """lower-cased computer -> (computer, reporting since): who sends heartbeats now."""
        return self.logs.reporting_computers()

    def heartbeat_rows(self, computers: list[str], window: timedelta) -> list[list[Any]]:
        return self.logs.heartbeat_rows(computers, window)

    def agent_health_rows(self, host_pool: str, window: timedelta) -> list[list[Any]]:
        return self.logs.agent_health_rows(host_pool, window)

    # ---- seeding and inspection -------------------------------------------------------------
    def seed_demo(self) -> None:
        """Profile tm-contoso-app (Priority) with weu (priority 1) and neu (priority 2); the workspace."""
        self.traffic_manager.seed_demo()
        self.logs.seed_demo()

    def snapshot(self) -> dict[str, Any]:
        with self.cloud.lock:
            return {**self.traffic_manager.snapshot(), **self.logs.snapshot()}


def add_routes(table: RouteTable, network: Network) -> None:
    """Register the Traffic Manager, Logs and inspection routes."""
    traffic_manager.add_routes(table, network.traffic_manager)
    monitor_logs.add_routes(table, network.logs)

    async def sim_network(request: web.Request, m: dict[str, str]) -> web.Response:
        return web.json_response(network.snapshot())

    table.add("GET", r"/_sim/network$", "sim.network", sim_network)
