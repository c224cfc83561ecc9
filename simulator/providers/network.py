"""Azure networking (Microsoft.Network 2026-03-01): the recovery region's virtual networks and its VPN /
ExpressRoute gateway with its connections to on-premises.

State (`Networking`: virtual networks, gateways and their connections; `set_connection` takes a tunnel down),
routes (`add_routes`: virtual network get, gateway get, gateway connections list), the demo seed (`seed_demo`: the
recovery, primary and drill VNets, the recovery gateway connected to on-premises) and its part of
`GET /_sim/sites` (`snapshot`). Shapes follow Microsoft's REST specs `VirtualNetworks_Get`,
`VirtualNetworkGateways_Get` and `VirtualNetworkGateways_ListConnections`.
"""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from simulator.arm import PRIMARY_REGION, RECOVERY_REGION, RG, Cloud, RouteTable, SimError

_VNET = RG + r"/microsoft\.network/virtualnetworks/(?P<vnet>[^/]+)"
_GW = RG + r"/microsoft\.network/virtualnetworkgateways/(?P<gw>[^/]+)"

# ---- the demo estate (names) -------------------------------------------------------------------
DEMO_NETRG = "rg-net-neu"
DEMO_RECOVERY_VNET = "vnet-avd-neu"
DEMO_PRIMARY_NETRG = "rg-net-weu"
DEMO_PRIMARY_VNET = "vnet-avd-weu"
DEMO_GATEWAY = "vgw-neu"
DEMO_CONNECTION = "cn-neu-onprem"
DEMO_DRILLRG = "rg-dr-neu"
DEMO_DRILL_VNET = "vnet-drill-neu"
# where `recovery: provision` builds session hosts (avd.host_pools[].provision: resource_group, subnet_id)
DEMO_HOSTS_RG = "rg-avd-neu"
DEMO_HOSTS_VNET = "vnet-avd-neu"
DEMO_HOSTS_SUBNET = "snet-hosts"


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


class Networking:
    """The virtual networks and gateways of one estate. Every method takes the estate's lock."""

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud
        self.vnets: dict[tuple[str, str], VirtualNetwork] = {}
        self.gateways: dict[tuple[str, str], Gateway] = {}

    @property
    def lock(self) -> AbstractContextManager[Any]:
        return self.cloud.lock

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

    # ---- the demo estate ------------------------------------------------------------------
    def seed_demo(self, primary: str = PRIMARY_REGION, recovery: str = RECOVERY_REGION) -> None:
        """The recovery VNet with a VPN gateway connected to on-premises, the primary VNet, the drill VNet and the
        session hosts' VNet (`recovery: provision`)."""
        with self.lock:
            for vnet in (
                VirtualNetwork(
                    DEMO_NETRG, DEMO_RECOVERY_VNET, recovery, ["10.20.0.0/16"], ["default", "GatewaySubnet"]
                ),
                VirtualNetwork(DEMO_PRIMARY_NETRG, DEMO_PRIMARY_VNET, primary, ["10.10.0.0/16"]),
                VirtualNetwork(DEMO_DRILLRG, DEMO_DRILL_VNET, recovery, ["10.99.0.0/16"]),
                VirtualNetwork(
                    DEMO_HOSTS_RG, DEMO_HOSTS_VNET, recovery, ["10.30.0.0/16"], ["default", DEMO_HOSTS_SUBNET]
                ),
            ):
                self.vnets[(vnet.resource_group.lower(), vnet.name.lower())] = vnet
            self.gateways[(DEMO_NETRG, DEMO_GATEWAY)] = Gateway(
                DEMO_NETRG, DEMO_GATEWAY, recovery, DEMO_RECOVERY_VNET, connections=[Connection(DEMO_CONNECTION)]
            )

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "gateways": [
                    {"name": g.name, "connections": {c.name: c.status for c in g.connections}}
                    for g in self.gateways.values()
                ],
            }


def vnet_id(sub: str, rg: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{name}"


# ---- HTTPS routes ----------------------------------------------------------------------------
class Routes:
    """The handlers, over one estate's `Networking`."""

    def __init__(self, networking: Networking) -> None:
        self.networking = networking

    async def vnet_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.networking.lock:
            vnet = self.networking.vnet(m["rg"], m["vnet"])
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
        with self.networking.lock:
            gw = self.networking.gateway(m["rg"], m["gw"])
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
        with self.networking.lock:
            gw = self.networking.gateway(m["rg"], m["gw"])
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


def add_routes(table: RouteTable, networking: Networking) -> None:
    """Register the virtual network and gateway routes."""
    r = Routes(networking)
    add = table.add
    add("GET", _VNET + r"$", "network.vnets.get", r.vnet_get)
    add("GET", _GW + r"$", "network.gateways.get", r.gateway_get)
    add("GET", _GW + r"/connections$", "network.gateways.list_connections", r.gateway_connections)
