"""Azure Traffic Manager (Microsoft.Network, the SDK's api-version 2026-09-01; the examples are 2022-04-01):
profiles and their endpoints.

State (`TrafficManager`: profiles, their endpoints and every endpoint write), routes (`add_routes`), the demo seed
(`seed_demo`: tm-contoso-app) and its part of `GET /_sim/network` (`snapshot`). Shapes follow Microsoft's REST
examples (`tests/reference/rest-examples/trafficmanager`):
- `GET .../trafficmanagerprofiles/{profile}`: the profile with its endpoints.
- `GET|PUT|PATCH .../trafficmanagerprofiles/{profile}/{azureEndpoints|externalEndpoints|nestedEndpoints}/{name}`.
  PATCH merges `endpointStatus`, `priority`, `weight`, `target`, `targetResourceId`; PUT replaces
  (201 when it creates). Priorities are 1-1000 and unique within a profile (400 otherwise), as ARM
  documents. `endpointMonitorStatus` is `Disabled` for a disabled endpoint, otherwise the endpoint's
  `health` (Online by default; `NetworkConfig.endpoint_health` or `set_endpoint_health` set it), and
  `Degraded` while the endpoint's `endpointLocation` is a region declared down (the estate's `Cloud.regions`).

Request bodies: the toolkit's `json_body` and `check_body` (`simulator.arm`), with Traffic Manager's schema
(`ENDPOINT_BODY`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from simulator.arm import BodyErrors, Cloud, Field, RouteTable, SimError, check_body, iso, json_body, utcnow

DEMO_TM_RG = "rg-dns-global"
DEMO_TM_PROFILE = "tm-contoso-app"

ENDPOINT_TYPES = {
    "azureendpoints": "azureEndpoints",
    "externalendpoints": "externalEndpoints",
    "nestedendpoints": "nestedEndpoints",
}
MONITOR_STATUSES = ("CheckingEndpoint", "Online", "Degraded", "Inactive", "Stopped", "Unmonitored")


class TmKnobs(Protocol):
    """The knob Traffic Manager reads (`simulator.network.NetworkConfig`)."""

    # endpoint name -> the monitor status its probes see while it is enabled (one of MONITOR_STATUSES; default
    # Online). Names are matched case-insensitively.
    endpoint_health: dict[str, str]


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


class TrafficManager:
    """The Traffic Manager profiles of one estate. Uses the estate's lock.

    `config` gives the knobs when asked (they are set on first use: `simulator.network.Network.config`)."""

    def __init__(self, cloud: Cloud, config: Callable[[], TmKnobs]) -> None:
        self.cloud = cloud
        self._config = config
        self.profiles: dict[tuple[str, str], TmProfile] = {}

    @property
    def config(self) -> TmKnobs:
        return self._config()

    @property
    def lock(self) -> Any:
        return self.cloud.lock

    def region_down(self, location: str | None) -> bool:
        """Whether a location ("West Europe" or "westeurope") is declared down (the estate's `Cloud.regions`)."""
        if not location:
            return False
        outages = self.cloud.regions.outages
        return location.replace(" ", "").lower() in outages

    def monitor_status(self, endpoint: TmEndpoint) -> str:
        return endpoint.monitor_status(self.region_down(endpoint.location))

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

    # ---- seeding and inspection -------------------------------------------------------------
    def seed_demo(self) -> None:
        """Profile tm-contoso-app (Priority) with weu (priority 1) and neu (priority 2)."""
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


def profile_json(profile_id: str, profile: TmProfile, network: TrafficManager) -> dict[str, Any]:
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
    """The handlers, over one estate's `TrafficManager`."""

    def __init__(self, tm: TrafficManager) -> None:
        self.tm = tm

    async def profile_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.tm.lock:
            profile = self.tm.profile(m["rg"], m["profile"])
            return web.json_response(profile_json(_profile_id(m, profile), profile, self.tm))

    async def endpoint_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.tm.lock:
            profile = self.tm.profile(m["rg"], m["profile"])
            endpoint = self.tm.endpoint(m["rg"], m["profile"], m["etype"], m["endpoint"])
            monitor = self.tm.monitor_status(endpoint)
            return web.json_response(endpoint_json(_profile_id(m, profile), endpoint, monitor))

    async def endpoint_write(self, request: web.Request, m: dict[str, str]) -> web.Response:
        body = await json_body(request)
        replace = request.method == "PUT"
        endpoint, created = self.tm.write_endpoint(
            m["rg"], m["profile"], m["etype"], m["endpoint"], body, replace=replace
        )
        with self.tm.lock:
            profile = self.tm.profile(m["rg"], m["profile"])
            monitor = self.tm.monitor_status(endpoint)
            answer = endpoint_json(_profile_id(m, profile), endpoint, monitor)
            return web.json_response(answer, status=201 if created else 200)


def add_routes(table: RouteTable, tm: TrafficManager) -> None:
    """Register the Traffic Manager routes."""
    r = Routes(tm)
    add = table.add
    add("GET", _PROFILE + r"$", "tm.profiles.get", r.profile_get)
    add("GET", _ENDPOINT, "tm.endpoints.get", r.endpoint_get)
    add("PUT", _ENDPOINT, "tm.endpoints.put", r.endpoint_write)
    add("PATCH", _ENDPOINT, "tm.endpoints.update", r.endpoint_write)
