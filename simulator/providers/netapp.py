"""Azure NetApp Files (Microsoft.NetApp 2026-08-01): the FSLogix destination volume of a cross-region replication,
and breaking that replication.

State (`NetApp`: volumes, their break operations on the toolkit's `OperationBook`), routes (`add_routes`: volume
get, replication status, break replication (202 + `Azure-AsyncOperation` + `Location`), the operation result), the
demo seed (`seed_demo`: vol-fslogix-neu in the recovery region, replicating from West Europe) and its part of
`GET /_sim/sites` (`snapshot`). Shapes follow Microsoft's REST specs `Volumes_Get`, `Volumes_ReplicationStatus`
and `Volumes_BreakReplication`. Error codes Microsoft does not document are the simulator's own.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
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
)
from simulator.providers.network import DEMO_NETRG, DEMO_RECOVERY_VNET, vnet_id

_VOLUME = (
    RG + r"/microsoft\.netapp/netappaccounts/(?P<account>[^/]+)/capacitypools/(?P<pool>[^/]+)/volumes/(?P<volume>[^/]+)"
)
_NETAPP_OP = (
    r"/subscriptions/(?P<sub>[^/]+)/providers/microsoft\.netapp/locations/(?P<loc>[^/]+)/operationresults/(?P<op>[^/]+)"
)

NETAPP_API = "2026-08-01"

# ---- the demo estate (names) -------------------------------------------------------------------
DEMO_NETAPPRG = "rg-avd-neu"
DEMO_NETAPP_ACCOUNT = "anf-contoso-neu"
DEMO_NETAPP_POOL = "pool-premium"
DEMO_NETAPP_VOLUME = "vol-fslogix-neu"


class NetAppKnobs(Protocol):
    """The knobs NetApp reads, in simulated seconds (`simulator.sites.SitesConfig`)."""

    netapp_break_seconds: float
    failing: dict[str, str]  # volume name -> error text: its next break ends Failed


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


class NetApp(OperationBook):
    """The NetApp volumes of one estate. Every method takes the estate's lock."""

    def __init__(self, cloud: Cloud, subscription_id: str, config: NetAppKnobs) -> None:
        super().__init__(cloud)
        self.subscription_id = subscription_id
        self.config = config
        self.volumes: dict[tuple[str, str, str, str], Volume] = {}

    # ---- operations (simulator.arm.OperationBook: start, refresh, look up) ----------------
    def _finish(self, op: Operation) -> None:
        op.status = "Failed" if op.fail_with else "Succeeded"
        if op.fail_with:
            op.error = {"code": "OperationFailed", "message": op.fail_with}
        volume: Volume = op.target
        volume.operation = None
        if op.status == "Succeeded":
            volume.mirror_state, volume.relationship_status = "Broken", "Idle"

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

    # ---- the demo estate ------------------------------------------------------------------
    def seed_demo(self, primary: str = PRIMARY_REGION, recovery: str = RECOVERY_REGION) -> None:
        """The FSLogix destination volume in `recovery`, replicating from its source volume in `primary`."""
        sub = self.subscription_id
        with self.lock:
            remote = (
                f"/subscriptions/{sub}/resourceGroups/rg-avd-weu/providers/Microsoft.NetApp/netAppAccounts/"
                f"anf-contoso-weu/capacityPools/{DEMO_NETAPP_POOL}/volumes/vol-fslogix-weu"
            )
            self.volumes[(DEMO_NETAPPRG, DEMO_NETAPP_ACCOUNT, DEMO_NETAPP_POOL, DEMO_NETAPP_VOLUME)] = Volume(
                DEMO_NETAPPRG, DEMO_NETAPP_ACCOUNT, DEMO_NETAPP_POOL, DEMO_NETAPP_VOLUME, recovery, remote, primary
            )

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            self.refresh()
            return {
                "volumes": [
                    {"name": v.name, "mirror_state": v.mirror_state, "break_calls": v.break_calls}
                    for v in self.volumes.values()
                ],
            }


# ---- HTTPS routes ----------------------------------------------------------------------------
class Routes:
    """The handlers, over one estate's `NetApp`; LRO headers point back at `table.base_url`."""

    def __init__(self, table: RouteTable, netapp: NetApp) -> None:
        self.table = table
        self.netapp = netapp

    def _accepted(self, sub: str, op: Operation, provider: str, api: str) -> web.Response:
        base = f"{self.table.base_url}/subscriptions/{sub}/providers/{provider}"
        url = f"{base}/locations/{op.location}/operationResults/{op.id}"
        return accepted(
            async_operation=f"{url}?api-version={api}",
            location=f"{url}?api-version={api}&operationResultResponseType=Location",
            retry_after=0,
        )

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
        with self.netapp.lock:
            volume = self.netapp.volume(m["rg"], m["account"], m["pool"], m["volume"])
            return web.json_response(self._volume_json(m["sub"], volume))

    async def replication_status(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.netapp.lock:
            v = self.netapp.volume(m["rg"], m["account"], m["pool"], m["volume"])
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
        op = self.netapp.break_replication(m["rg"], m["account"], m["pool"], m["volume"], force)
        return self._accepted(m["sub"], op, "Microsoft.NetApp", NETAPP_API)

    async def netapp_operation(self, request: web.Request, m: dict[str, str]) -> web.Response:
        op = self.netapp.operation(m["op"], "microsoft.netapp")
        with self.netapp.lock:
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


def _message(op: Operation) -> str:
    return (op.error or {}).get("message") or "The operation failed."


def add_routes(table: RouteTable, netapp: NetApp) -> None:
    """Register the volume and operation routes."""
    r = Routes(table, netapp)
    add = table.add
    add("GET", _VOLUME + r"$", "netapp.volumes.get", r.volume_get)
    add("GET", _VOLUME + r"/replicationstatus$", "netapp.volumes.replication_status", r.replication_status)
    add("POST", _VOLUME + r"/breakreplication$", "netapp.volumes.break_replication", r.break_replication)
    add("GET", _NETAPP_OP + r"$", "netapp.operations.get", r.netapp_operation)
