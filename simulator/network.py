"""Traffic Manager profiles and the Azure Monitor Logs query API of the simulated estate.

State lives here (`Network`, one per `Estate`, as `estate.network`); `add_routes` registers the HTTPS
routes on the simulator's route table. Shapes follow Microsoft's REST examples
(`tests/reference/rest-examples/trafficmanager`, `.../loganalytics`).

Traffic Manager (Microsoft.Network, the SDK's api-version 2026-09-01; the examples are 2022-04-01):
- `GET .../trafficmanagerprofiles/{profile}`: the profile with its endpoints.
- `GET|PUT|PATCH .../trafficmanagerprofiles/{profile}/{azureEndpoints|externalEndpoints|nestedEndpoints}/{name}`.
  PATCH merges `endpointStatus`, `priority`, `weight`, `target`, `targetResourceId`; PUT replaces
  (201 when it creates). Priorities are 1-1000 and unique within a profile (400 otherwise), as ARM
  documents. `endpointMonitorStatus` is `Disabled` for a disabled endpoint, otherwise the endpoint's
  `health` (Online by default; `NetworkConfig.endpoint_health` or `set_endpoint_health` set it), and
  `Degraded` while the endpoint's `endpointLocation` is a region declared down
  (`estate.dependencies.region_down`, when the estate has that part).

Logs (`POST {base}/v1/workspaces/{workspaceId}/query`, body `{"query", "timespan"}`): the simulator
cannot run KQL. It recognises the two query shapes `activities.verify` sends and answers them from the
estate; any other query is a 400 in the Logs API's error shape:
- `Heartbeat | where TimeGenerated > ago(Nm) | where Computer in~ ("a", ...) | summarize LastSeen =
  max(TimeGenerated) by Computer`: rows for the named computers that report: every VM active in the
  recovery region (its recovery plan failed over successfully), every VM whose recovery plan is
  test-failed-over (its test VM runs in the isolated network until the cleanup), every running VM of
  `estate.dependencies` (standby session hosts the service started), the `always_reporting` computers
  (an on-premises domain controller), every primary VM when `primary_reporting`; never the
  `silent_computers`.
- `WVDAgentHealthStatus | where TimeGenerated > ago(Nm) | where _ResourceId endswith "/hostpools/{pool}"
  | summarize arg_max(TimeGenerated, Status) by SessionHostName`: one row per session host of the
  recovery host pool: the estate's host pool of that name (Status = the session host's status, which
  follows its VM's power state), else generated names reporting `Available`; `session_host_status`
  overrides a host's Status; `silent_computers` send nothing.

Request bodies: the toolkit's `json_body` and `check_body` (`simulator.arm`), with Traffic Manager's schema
(`ENDPOINT_BODY`). Two resource providers share this module (Microsoft.Network's Traffic Manager, the Logs query
API): to be split under `simulator/providers/` (docs/simulator.md, "Layout").
"""

from __future__ import annotations

import dataclasses
import re
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from aiohttp import web

from simulator.arm import BodyErrors, Cloud, Field, RouteTable, SimError, check_body, iso, json_body, utcnow
from simulator.dependencies import Dependencies
from simulator.providers.desktop_virtualization import DesktopVirtualization
from simulator.providers.recovery_services import SiteRecovery

DEMO_TM_RG = "rg-dns-global"
DEMO_TM_PROFILE = "tm-contoso-app"
DEMO_WORKSPACE_ID = "8c2f6a3e-4b1d-4e7a-9f05-3d6b2c1a7e94"
DEMO_LOGS_RG = "rg-monitor-neu"
DEMO_WORKSPACE_NAME = "law-failover-neu"
DEMO_RECOVERY_HOST_POOL = "hp-neu-pooled"

ENDPOINT_TYPES = {
    "azureendpoints": "azureEndpoints",
    "externalendpoints": "externalEndpoints",
    "nestedendpoints": "nestedEndpoints",
}
MONITOR_STATUSES = ("CheckingEndpoint", "Online", "Degraded", "Inactive", "Stopped", "Unmonitored")


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


@dataclass
class TmEndpoint:
    name: str
    endpoint_type: str  # azureEndpoints | externalEndpoints | nestedEndpoints
    target: str | None = None
    target_resource_id: str | None = None
    status: str = "Enabled"
    priority: int | None = None
    weight: int = 1
    location: str | None = None
    min_child_endpoints: int | None = None
    health: str = "Online"  # what the probes see while enabled

    def monitor_status(self, region_down: bool = False) -> str:
        if self.status == "Disabled":
            return "Disabled"
        if region_down and self.health in ("Online", "CheckingEndpoint"):
            return "Degraded"  # the probes of an endpoint in a region that is down fail
        return self.health


@dataclass
class TmProfile:
    resource_group: str
    name: str
    routing_method: str
    relative_name: str
    ttl: int = 30
    endpoints: list[TmEndpoint] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)  # every endpoint write, for inspection

    def endpoint(self, endpoint_type: str, name: str) -> TmEndpoint | None:
        for endpoint in self.endpoints:
            if endpoint.endpoint_type.lower() == endpoint_type.lower() and endpoint.name.lower() == name.lower():
                return endpoint
        return None

    def monitor_status(self, down: Callable[[str | None], bool] = lambda _: False) -> str:
        enabled = [e.monitor_status(down(e.location)) for e in self.endpoints if e.status == "Enabled"]
        if not enabled:
            return "Inactive"
        if "Online" in enabled or "Unmonitored" in enabled:
            return "Online"
        if "CheckingEndpoint" in enabled:
            return "CheckingEndpoints"
        return "Degraded"


class NetworkSettings(Protocol):
    """Where the knobs live: `simulator.EstateConfig.network` (None: the defaults, set on first use)."""

    network: NetworkConfig | None


class Network:
    """Traffic Manager profiles and Log Analytics workspaces of one estate. Uses the estate's lock.

    Logs reads the rest of the estate: ASR's recovery plans (VMs active in the recovery region), AVD's host pools,
    and the VMs and region outages of `dependencies`."""

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
        self.profiles: dict[tuple[str, str], TmProfile] = {}
        self.workspaces: set[str] = set()
        self.queries: list[dict[str, Any]] = []  # every Logs query received: {workspace, kind, at}

    @property
    def config(self) -> NetworkConfig:
        config = self.settings.network
        if config is None:
            config = self.settings.network = NetworkConfig()
        return config

    @property
    def lock(self) -> Any:
        return self.cloud.lock

    def _dependencies(self) -> Any:
        """`estate.dependencies` (simulator.dependencies: VMs, region outages), brought up to date; None
        when the estate has none."""
        deps = self.dependencies
        refresh = getattr(deps, "refresh", None)
        if callable(refresh):
            refresh()
        return deps

    def region_down(self, location: str | None) -> bool:
        """Whether a location ("West Europe" or "westeurope") is declared down (`Dependencies.region_down`)."""
        if not location:
            return False
        outages = self.dependencies.outages
        return location.replace(" ", "").lower() in outages

    def monitor_status(self, endpoint: TmEndpoint) -> str:
        return endpoint.monitor_status(self.region_down(endpoint.location))

    @property
    def workspace_id(self) -> str:
        """The seeded Log Analytics workspace's id (the GUID the Logs API takes)."""
        return self.config.workspace_id

    # ---- Traffic Manager --------------------------------------------------------------------
    def add_profile(self, profile: TmProfile) -> TmProfile:
        with self.cloud.lock:
            for endpoint in profile.endpoints:
                endpoint.health = self._configured_health(endpoint.name, endpoint.health)
            self.profiles[(profile.resource_group.lower(), profile.name.lower())] = profile
            return profile

    def _configured_health(self, endpoint: str, default: str) -> str:
        health = {k.lower(): v for k, v in self.config.endpoint_health.items()}
        return health.get(endpoint.lower(), default)

    def profile(self, rg: str, name: str) -> TmProfile:
        profile = self.profiles.get((rg.lower(), name.lower()))
        if profile is None:
            raise SimError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.Network/trafficmanagerprofiles/{name}' under resource group '{rg}' "
                "was not found.",
            )
        return profile

    def endpoint(self, rg: str, profile_name: str, endpoint_type: str, name: str) -> TmEndpoint:
        endpoint = self.profile(rg, profile_name).endpoint(endpoint_type, name)
        if endpoint is None:
            raise SimError(
                404,
                "NotFound",
                f"Endpoint '{name}' of type '{ENDPOINT_TYPES[endpoint_type.lower()]}' was not found in Traffic "
                f"Manager profile '{profile_name}'.",
            )
        return endpoint

    def set_endpoint_health(self, rg: str, profile_name: str, name: str, health: str) -> None:
        """What the probes see for an endpoint from now on (Online, Degraded, Stopped, ...)."""
        if health not in MONITOR_STATUSES:
            raise ValueError(f"health must be one of {MONITOR_STATUSES}")
        with self.cloud.lock:
            matches = [e for e in self.profile(rg, profile_name).endpoints if e.name.lower() == name.lower()]
            if not matches:
                raise KeyError(f"no endpoint {name} in profile {profile_name}")
            for endpoint in matches:
                endpoint.health = health

    def write_endpoint(
        self, rg: str, profile_name: str, endpoint_type: str, name: str, body: dict[str, Any], *, replace: bool
    ) -> tuple[TmEndpoint, bool]:
        """PATCH (merge) or PUT (replace, creating when missing). Returns (endpoint, created).

        The change is validated on a copy: a refused write changes nothing.
        """
        with self.cloud.lock:
            profile = self.profile(rg, profile_name)
            short_type = ENDPOINT_TYPES[endpoint_type.lower()]
            existing = profile.endpoint(short_type, name)
            if existing is None and not replace:
                self.endpoint(rg, profile_name, endpoint_type, name)  # raises the 404
            props = check_body(body, ENDPOINT_BODY, TM_ERRORS)["properties"]
            if existing is not None and not replace:
                candidate = dataclasses.replace(existing)
            else:
                health = existing.health if existing else self._configured_health(name, "Online")
                candidate = TmEndpoint(existing.name if existing else name, short_type, health=health)
            self._apply(profile, candidate, props, existing)
            if existing is None:
                profile.endpoints.append(candidate)
            else:
                profile.endpoints[profile.endpoints.index(existing)] = candidate
            profile.history.append(
                {
                    "endpoint": candidate.name,
                    "type": short_type,
                    "method": "PUT" if replace else "PATCH",
                    "from": None if existing is None else {"status": existing.status, "priority": existing.priority},
                    "to": {"status": candidate.status, "priority": candidate.priority},
                    "at": utcnow(),
                }
            )
            return candidate, existing is None

    def _apply(
        self, profile: TmProfile, endpoint: TmEndpoint, props: dict[str, Any], existing: TmEndpoint | None
    ) -> None:
        if "endpointStatus" in props:
            if props["endpointStatus"] not in ("Enabled", "Disabled"):
                raise SimError(400, "BadRequest", "properties.endpointStatus must be 'Enabled' or 'Disabled'.")
            endpoint.status = props["endpointStatus"]
        for key, attr in (("priority", "priority"), ("weight", "weight")):
            if key in props and props[key] is not None:
                value = props[key]
                if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1000:
                    raise SimError(400, "BadRequest", f"properties.{key} must be an integer from 1 to 1000.")
                setattr(endpoint, attr, value)
        for key, attr in (("target", "target"), ("targetResourceId", "target_resource_id")):
            if key in props:
                setattr(endpoint, attr, props[key])
        if "endpointLocation" in props:
            endpoint.location = props["endpointLocation"]
        if "minChildEndpoints" in props:
            endpoint.min_child_endpoints = props["minChildEndpoints"]
        if endpoint.endpoint_type == "externalEndpoints" and not endpoint.target:
            raise SimError(400, "BadRequest", "properties.target is required for an external endpoint.")
        if endpoint.endpoint_type != "externalEndpoints" and not endpoint.target_resource_id:
            raise SimError(400, "BadRequest", f"properties.targetResourceId is required for {endpoint.endpoint_type}.")
        others = [e for e in profile.endpoints if e is not existing]
        if endpoint.priority is None:
            endpoint.priority = max((e.priority or 0 for e in others), default=0) + 1
        clash = next((e for e in others if e.priority == endpoint.priority), None)
        if clash is not None:
            raise SimError(
                400,
                "BadRequest",
                f"Priority {endpoint.priority} is already used by endpoint '{clash.name}' of profile '{profile.name}': "
                "no two endpoints can share the same priority value.",
            )

    # ---- Logs -------------------------------------------------------------------------------
    def add_workspace(self, workspace_id: str) -> None:
        with self.cloud.lock:
            self.workspaces.add(workspace_id.lower())

    def _recovery_session_hosts(self) -> list[tuple[str, str]]:
        """(session host, agent status) of the recovery host pool: the estate's pool of that name (a
        session host's status follows its VM's power state), else the configured or generated names."""
        config = self.config
        if config.recovery_session_host_names:
            return [(name, "Available") for name in config.recovery_session_host_names]
        with self.cloud.lock:
            self._dependencies()
            for pool in self.avd.host_pools.values():
                if pool.name.lower() == config.recovery_host_pool.lower():
                    return [(host.name, host.status) for host in pool.session_hosts.values()]
        return [
            (f"sh-neu-{index + 1:03d}.contoso.local", "Available") for index in range(config.recovery_session_hosts)
        ]

    def reporting_computers(self) -> dict[str, tuple[str, datetime | None]]:
        """lower-cased computer -> (computer, reporting since): who sends heartbeats now."""
        config = self.config
        out: dict[str, tuple[str, datetime | None]] = {}
        with self.cloud.lock:
            self.asr.refresh_jobs()
            for plan in self.asr.recovery_plans.values():
                for _, items in plan.groups:
                    for item in items:
                        if item.active_location == "Recovery":
                            out[item.vm_name.lower()] = (item.vm_name, item.last_failover_at)
                        elif item.test_failover_at is not None:  # a drill's test VM, up in the isolated network
                            out[item.vm_name.lower()] = (item.vm_name, item.test_failover_at)
                        elif config.primary_reporting:
                            out[item.vm_name.lower()] = (item.vm_name, None)
            deps = self._dependencies()
            for vm in (getattr(deps, "vms", None) or {}).values():  # standby VMs started by the service
                if getattr(vm, "power_state", None) == "running":
                    out[vm.name.lower()] = (vm.name, None)
        for name in config.always_reporting:
            out[name.lower()] = (name, None)
        for name in config.silent_computers:
            out.pop(name.lower(), None)
        return out

    def heartbeat_rows(self, computers: list[str], window: timedelta) -> list[list[Any]]:
        now = utcnow()
        wanted = {c.lower() for c in computers}
        rows = []
        for key, (name, since) in sorted(self.reporting_computers().items()):
            if key not in wanted:
                continue
            last = now - timedelta(seconds=zlib.crc32(key.encode()) % 50)  # heartbeats come once a minute
            if since is not None and last < since:
                last = since
            if last >= now - window:
                rows.append([name, iso(last)])
        return rows

    def agent_health_rows(self, host_pool: str, window: timedelta) -> list[list[Any]]:
        config = self.config
        now = utcnow()
        silent = {c.lower() for c in config.silent_computers}
        if host_pool.lower() == config.recovery_host_pool.lower():
            hosts = self._recovery_session_hosts()
        elif config.primary_reporting:
            hosts = [
                (host.name, host.status)
                for pool in self.avd.host_pools.values()
                if pool.name.lower() == host_pool.lower()
                for host in pool.session_hosts.values()
            ]
        else:
            hosts = []
        statuses = {k.lower(): v for k, v in config.session_host_status.items()}
        rows = []
        for host, reported in hosts:
            keys = (host.lower(), host.split(".")[0].lower())  # the FQDN or the short name
            if any(key in silent for key in keys):
                continue
            seen = now - timedelta(seconds=zlib.crc32(keys[0].encode()) % 50)
            if seen >= now - window:
                status = next((statuses[key] for key in keys if key in statuses), reported)
                rows.append([host, iso(seen), status])
        return rows

    # ---- seeding and inspection -------------------------------------------------------------
    def seed_demo(self) -> None:
        """Profile tm-contoso-app (Priority) with weu (priority 1) and neu (priority 2); the workspace."""
        self.add_profile(
            TmProfile(
                DEMO_TM_RG,
                DEMO_TM_PROFILE,
                "Priority",
                "contoso-app",
                endpoints=[
                    TmEndpoint("weu", "externalEndpoints", "app-weu.contoso.com", priority=1, location="West Europe"),
                    TmEndpoint("neu", "externalEndpoints", "app-neu.contoso.com", priority=2, location="North Europe"),
                ],
            )
        )
        self.add_workspace(self.config.workspace_id)

    def snapshot(self) -> dict[str, Any]:
        with self.cloud.lock:
            return {
                "traffic_manager": [
                    {
                        "resource_group": p.resource_group,
                        "name": p.name,
                        "routing_method": p.routing_method,
                        "endpoints": [
                            {
                                "name": e.name,
                                "type": e.endpoint_type,
                                "status": e.status,
                                "priority": e.priority,
                                "target": e.target,
                                "monitor_status": self.monitor_status(e),
                            }
                            for e in p.endpoints
                        ],
                        "history": [dict(h, at=iso(h["at"])) for h in p.history],
                    }
                    for p in self.profiles.values()
                ],
                "workspaces": sorted(self.workspaces),
                "logs_queries": [dict(q, at=iso(q["at"])) for q in self.queries],
            }


# ---- HTTP ------------------------------------------------------------------------------------
_PROFILE = (
    r"/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)/providers"
    r"/microsoft\.network/trafficmanagerprofiles/(?P<profile>[^/]+)"
)
_ENDPOINT = _PROFILE + r"/(?P<etype>azureendpoints|externalendpoints|nestedendpoints)/(?P<endpoint>[^/]+)$"


def _profile_id(m: dict[str, str], profile: TmProfile) -> str:
    return (
        f"/subscriptions/{m['sub']}/resourceGroups/{profile.resource_group}/providers/"
        f"Microsoft.Network/trafficManagerProfiles/{profile.name}"
    )


def endpoint_json(profile_id: str, endpoint: TmEndpoint, monitor_status: str) -> dict[str, Any]:
    props: dict[str, Any] = {"endpointStatus": endpoint.status, "endpointMonitorStatus": monitor_status}
    if endpoint.target_resource_id:
        props["targetResourceId"] = endpoint.target_resource_id
    props["target"] = endpoint.target
    props["weight"] = endpoint.weight
    props["priority"] = endpoint.priority
    props["endpointLocation"] = endpoint.location
    if endpoint.min_child_endpoints is not None:
        props["minChildEndpoints"] = endpoint.min_child_endpoints
    return {
        "id": f"{profile_id}/{endpoint.endpoint_type}/{endpoint.name}",
        "name": endpoint.name,
        "type": f"Microsoft.Network/trafficManagerProfiles/{endpoint.endpoint_type}",
        "properties": props,
    }


def profile_json(profile_id: str, profile: TmProfile, network: Network) -> dict[str, Any]:
    return {
        "id": profile_id,
        "name": profile.name,
        "type": "Microsoft.Network/trafficManagerProfiles",
        "location": "global",
        "tags": {},
        "properties": {
            "profileStatus": "Enabled",
            "trafficRoutingMethod": profile.routing_method,
            "dnsConfig": {
                "relativeName": profile.relative_name,
                "fqdn": f"{profile.relative_name}.trafficmanager.net",
                "ttl": profile.ttl,
            },
            "monitorConfig": {
                "profileMonitorStatus": profile.monitor_status(network.region_down),
                "protocol": "HTTPS",
                "port": 443,
                "path": "/health",
                "intervalInSeconds": 30,
                "toleratedNumberOfFailures": 3,
                "timeoutInSeconds": 10,
            },
            "endpoints": [endpoint_json(profile_id, e, network.monitor_status(e)) for e in profile.endpoints],
            "trafficViewEnrollmentStatus": "Disabled",
        },
    }


BAD_ARGUMENT = "The request had some invalid properties"


def _logs_headers(request_id: str) -> dict[str, str]:
    """The Logs API's request ids (as in `la-get-example`): one id, in both headers and in an error's body."""
    return {"x-ms-correlation-request-id": request_id, "x-ms-request-id": request_id}


def _logs_error(status: int, code: str, message: str, inner: tuple[str, str] | None = None) -> web.Response:
    request_id = str(uuid.uuid4())
    error: dict[str, Any] = {"message": message, "code": code, "correlationId": request_id}
    if inner:
        error["innererror"] = {"code": inner[0], "message": inner[1]}
    return web.json_response({"error": error}, status=status, headers=_logs_headers(request_id))


_LITERAL = r'"(?:[^"\\]|\\.)*"'
_HEARTBEAT = re.compile(
    r"^Heartbeat \| where TimeGenerated > ago\((?P<m>\d+)m\) \| where Computer in~ "
    rf"\((?P<names>\s*{_LITERAL}(?:\s*,\s*{_LITERAL})*\s*)\) \| summarize LastSeen = max\(TimeGenerated\) by Computer$"
)
_AGENT = re.compile(
    r"^WVDAgentHealthStatus \| where TimeGenerated > ago\((?P<m>\d+)m\) \| where _ResourceId endswith "
    rf"(?P<suffix>{_LITERAL}) \| summarize arg_max\(TimeGenerated, Status\) by SessionHostName$"
)
_NUMBER = r"\d+(?:\.\d+)?"
_DURATION = re.compile(
    rf"^P(?:(?P<days>{_NUMBER})D)?(?:T(?:(?P<hours>{_NUMBER})H)?(?:(?P<minutes>{_NUMBER})M)?(?:(?P<seconds>{_NUMBER})S)?)?$"
)


def _unquote(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


def _normalise(query: str) -> str:
    """Collapse whitespace outside string literals, so line breaks and indentation do not matter."""
    parts = re.split(rf"({_LITERAL})", query.strip())
    return "".join(p if i % 2 else re.sub(r"\s+", " ", p) for i, p in enumerate(parts))


def _timespan(value: Any) -> timedelta | None:
    """The body's ISO 8601 `timespan` as a window reaching to now: a duration, or `start/end`, `start/duration`
    (then the window starts at `start`; the end is not simulated)."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError("timespan must be an ISO 8601 duration or interval")
    if "/" in value:
        start = value.split("/", 1)[0]
        try:
            begins = datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError as err:
            raise ValueError(f"timespan '{value}' does not start with an ISO 8601 time") from err
        return max(utcnow() - begins, timedelta(0))
    match = _DURATION.match(value)
    if not match or value.endswith(("P", "T")):
        raise ValueError(f"timespan '{value}' is not an ISO 8601 duration")
    return timedelta(**{unit: float(amount) for unit, amount in match.groupdict().items() if amount})


# Traffic Manager answers a body it cannot take with 400 BadRequest (the code this simulator already used).
TM_ERRORS = BodyErrors("BadRequest", "BadRequest", "BadRequest")
_ON_OFF = ("Enabled", "Disabled")
# An endpoint (PUT, PATCH), as `EndpointProperties` of the Traffic Manager REST spec defines its members.
ENDPOINT_BODY = Field(
    "object",
    members={
        "id": Field("string"),
        "name": Field("string"),
        "type": Field("string"),
        "properties": Field(
            "object",
            required=True,
            members={
                "targetResourceId": Field("string"),
                "target": Field("string"),
                "endpointStatus": Field("string", enum=_ON_OFF),
                "weight": Field("integer"),
                "priority": Field("integer"),
                "endpointLocation": Field("string"),
                "endpointMonitorStatus": Field("string", enum=(*MONITOR_STATUSES, "Disabled")),
                "minChildEndpoints": Field("integer"),
                "minChildEndpointsIPv4": Field("integer"),
                "minChildEndpointsIPv6": Field("integer"),
                "geoMapping": Field("array", items=Field("string")),
                "subnets": Field(
                    "array",
                    items=Field(
                        "object",
                        members={"first": Field("string"), "last": Field("string"), "scope": Field("integer")},
                    ),
                ),
                "customHeaders": Field(
                    "array", items=Field("object", members={"name": Field("string"), "value": Field("string")})
                ),
                "alwaysServe": Field("string", enum=_ON_OFF),
            },
        ),
    },
)


class Routes:
    """The handlers, over one estate's `Network`."""

    def __init__(self, network: Network) -> None:
        self.network = network

    async def profile_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.network.lock:
            profile = self.network.profile(m["rg"], m["profile"])
            return web.json_response(profile_json(_profile_id(m, profile), profile, self.network))

    async def endpoint_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.network.lock:
            profile = self.network.profile(m["rg"], m["profile"])
            endpoint = self.network.endpoint(m["rg"], m["profile"], m["etype"], m["endpoint"])
            monitor = self.network.monitor_status(endpoint)
            return web.json_response(endpoint_json(_profile_id(m, profile), endpoint, monitor))

    async def endpoint_write(self, request: web.Request, m: dict[str, str]) -> web.Response:
        body = await json_body(request)
        replace = request.method == "PUT"
        endpoint, created = self.network.write_endpoint(
            m["rg"], m["profile"], m["etype"], m["endpoint"], body, replace=replace
        )
        with self.network.lock:
            profile = self.network.profile(m["rg"], m["profile"])
            monitor = self.network.monitor_status(endpoint)
            answer = endpoint_json(_profile_id(m, profile), endpoint, monitor)
            return web.json_response(answer, status=201 if created else 200)

    async def logs_query(self, request: web.Request, m: dict[str, str]) -> web.Response:
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            message = "Authentication failed. The 'Authorization' header is missing."
            return _logs_error(401, "AuthenticationFailed", message)
        if m["workspace"].lower() not in self.network.workspaces:
            return _logs_error(404, "WorkspaceNotFoundError", "The workspace could not be found")
        try:
            body = await json_body(request)
        except SimError as err:
            return _logs_error(400, "BadArgumentError", BAD_ARGUMENT, (err.code, err.message))
        query = body.get("query")
        if not isinstance(query, str) or not query.strip():
            return _logs_error(400, "BadArgumentError", BAD_ARGUMENT, ("QueryValidationError", "'query' is required."))
        try:
            span = _timespan(body.get("timespan"))
        except ValueError as err:
            return _logs_error(400, "BadArgumentError", BAD_ARGUMENT, ("InvalidTimespan", str(err)))
        text = _normalise(query)
        heartbeat, agent = _HEARTBEAT.match(text), _AGENT.match(text)
        if heartbeat:
            window = timedelta(minutes=int(heartbeat["m"]))
            names = [_unquote(n) for n in re.findall(_LITERAL, heartbeat["names"])]
            columns = [("Computer", "string"), ("LastSeen", "datetime")]
            kind = "Heartbeat"
        elif agent:
            window = timedelta(minutes=int(agent["m"]))
            suffix = _unquote(agent["suffix"])
            if not suffix.lower().startswith("/hostpools/"):
                inner = ("SemanticError", "The simulator filters _ResourceId by '/hostpools/{name}' only.")
                return _logs_error(400, "BadArgumentError", BAD_ARGUMENT, inner)
            columns = [("SessionHostName", "string"), ("TimeGenerated", "datetime"), ("Status", "string")]
            kind = "WVDAgentHealthStatus"
        else:
            return _logs_error(
                400,
                "BadArgumentError",
                BAD_ARGUMENT,
                (
                    "SemanticError",
                    "The simulator cannot run KQL: it answers only the Heartbeat and WVDAgentHealthStatus queries "
                    "that activities.verify sends.",
                ),
            )
        if span is not None:
            window = min(window, span)
        if heartbeat:
            rows = self.network.heartbeat_rows(names, window)
        else:
            rows = self.network.agent_health_rows(suffix.split("/", 2)[2], window)
        with self.network.lock:
            self.network.queries.append({"workspace": m["workspace"], "kind": kind, "rows": len(rows), "at": utcnow()})
        return web.json_response(
            {
                "tables": [
                    {
                        "name": "PrimaryResult",
                        "columns": [{"name": name, "type": kind_} for name, kind_ in columns],
                        "rows": rows,
                    }
                ]
            },
            headers=_logs_headers(str(uuid.uuid4())),
        )

    async def sim_network(self, request: web.Request, m: dict[str, str]) -> web.Response:
        return web.json_response(self.network.snapshot())


def add_routes(table: RouteTable, network: Network) -> None:
    """Register the Traffic Manager, Logs and inspection routes."""
    r = Routes(network)
    add = table.add
    add("GET", _PROFILE + r"$", "tm.profiles.get", r.profile_get)
    add("GET", _ENDPOINT, "tm.endpoints.get", r.endpoint_get)
    add("PUT", _ENDPOINT, "tm.endpoints.put", r.endpoint_write)
    add("PATCH", _ENDPOINT, "tm.endpoints.update", r.endpoint_write)
    add("POST", r"/v1/workspaces/(?P<workspace>[^/]+)/query$", "logs.query", r.logs_query)
    add("GET", r"/_sim/network$", "sim.network", r.sim_network)
