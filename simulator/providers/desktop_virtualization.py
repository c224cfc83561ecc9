"""Azure Virtual Desktop (Microsoft.DesktopVirtualization 2024-04-03): host pools, session hosts, user sessions.

State (`DesktopVirtualization`: host pools, their registration token and VM template, and the sessions logged
off), routes (`add_routes`: host pool get and update (`registrationInfo`: a fresh registration token),
retrieveRegistrationToken; session hosts list/get/update (drain)/delete; user sessions list by host pool / by
session host, get, delete (log off), sendMessage, disconnect), the demo seed (`seed_demo`) and its part of
`GET /_sim/state` (`snapshot`). Shapes follow `HostPool_Get`, `HostPool_Update`, `SessionHost_Get` / `_List`,
`UserSession_Get` (`tests/reference/rest-examples/avd`). A VM created with the AVD agent's extension and the pool's
current token registers as a session host when its simulated boot ends (`simulator.providers.compute`).
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from simulator.arm import (
    PRIMARY_REGION,
    RG,
    BodyErrors,
    Cloud,
    Field,
    RouteTable,
    SimError,
    check_body,
    iso,
    json_body,
    page_by_skip,
    utcnow,
)
from simulator.outage import Outage, region_key

_HP = RG + r"/microsoft\.desktopvirtualization/hostpools/(?P<hp>[^/]+)"
_SH = _HP + r"/sessionhosts/(?P<sh>[^/]+)"
DOMAIN = "contoso.local"  # the AD domain the simulated session hosts are joined to
DEMO_AVD_RG = "rg-avd-weu"
DEMO_HOST_POOL = "hp-weu-pooled"

# ---- request bodies, as the REST spec defines them (simulator.arm.check_body) ----------------------------------

AVD_ERRORS = BodyErrors("InvalidRequestFormat", "InvalidRequestFormat", "InvalidParameterValue")
SESSION_HOST_PATCH_BODY = Field(
    "object",
    members={
        "properties": Field(
            "object",
            members={
                "allowNewSession": Field("boolean"),
                "assignedUser": Field("string"),
                "friendlyName": Field("string"),
            },
        )
    },
)
HOST_POOL_PATCH_BODY = Field(
    "object",
    members={
        "properties": Field(
            "object",
            members={
                "registrationInfo": Field(
                    "object",
                    members={
                        "expirationTime": Field("string"),
                        "registrationTokenOperation": Field("string", enum=("Delete", "None", "Update")),
                    },
                ),
                "friendlyName": Field("string"),
                "description": Field("string"),
                "vmTemplate": Field("string"),
            },
        ),
    },
)
# The VM template of the demo's pooled host pool, in the keys the Azure portal writes (`failover.avd_template`).
DEMO_VM_TEMPLATE = {
    "domain": "contoso.local",
    "galleryImageOffer": "office-365",
    "galleryImagePublisher": "MicrosoftWindowsDesktop",
    "galleryImageSKU": "win11-23h2-avd-m365",
    "imageType": "Gallery",
    "customImageId": None,
    "namePrefix": "sh-weu",
    "osDiskType": "Premium_LRS",
    "vmSize": {"id": "Standard_D8s_v5", "cores": 8, "ram": 32},
    "galleryItemId": "microsoftwindowsdesktop.office-365win11-23h2-avd-m365",
    "hibernate": False,
    "diskSizeGB": 128,
    "securityType": "TrustedLaunch",
    "secureBoot": True,
    "vTPM": True,
}
SEND_MESSAGE_BODY = Field("object", members={"messageTitle": Field("string"), "messageBody": Field("string")})


@dataclass
class UserSession:
    session_id: str
    session_host: str
    user_principal_name: str
    state: str  # Active | Disconnected | ...
    created_at: datetime
    messages: list[dict[str, str]] = field(default_factory=list)


@dataclass
class SessionHost:
    name: str
    allow_new_session: bool = True
    status: str = "Available"
    sessions: dict[str, UserSession] = field(default_factory=dict)
    drained_at: datetime | None = None
    unreachable: bool = False  # its region is down (`Estate.region_down`): messages and log-offs fail
    vm: tuple[str, str] | None = None  # (resource group, VM name) when not the demo's rg-avd-weu
    registered_at: datetime | None = None  # when a VM registered it with a registration token


@dataclass
class HostPool:
    resource_group: str
    name: str
    location: str
    session_hosts: dict[str, SessionHost] = field(default_factory=dict)
    pool_type: str = "Pooled"  # Pooled | Personal
    vm_template: str | None = None  # the JSON string AVD keeps (`DEMO_VM_TEMPLATE` for the demo's pool)
    token: str | None = None  # the registration token; one at a time (an Update replaces it)
    token_expires: datetime | None = None


class DesktopVirtualization:
    """The host pools of one estate and the sessions logged off. Every method takes the estate's lock."""

    def __init__(self, cloud: Cloud, subscription_id: str, created_at: datetime) -> None:
        self.cloud = cloud
        self.subscription_id = subscription_id
        self.created_at = created_at  # when the simulated resources were "created" (ARM systemData)
        self.host_pools: dict[tuple[str, str], HostPool] = {}
        self.logged_off: list[dict[str, Any]] = []  # {session host, id, user, at}
        self.registrations: list[dict[str, Any]] = []  # {host pool, session host, at, registered, why}
        self.deleted_hosts: list[str] = []
        # Cap on a registration token's lifetime in simulated seconds (None: as asked): a test makes tokens expire
        # before a new VM's simulated boot ends, so the VM never registers.
        self.token_lifetime_cap: float | None = None
        # The books whose operations register session hosts (Compute): brought up to date before a session host read.
        self.sources: list[Any] = []
        self._catching_up = False

    @property
    def lock(self) -> Any:
        return self.cloud.lock

    def host_pool(self, rg: str, name: str) -> HostPool:
        pool = self.host_pools.get((rg.lower(), name.lower()))
        if pool is None:
            # the code and message of HostPool_Get's error example
            raise SimError(404, "hostPoolDoesNotExist", "Host Pool Does Not Exist")
        return pool

    def session_host(self, rg: str, pool: str, name: str) -> SessionHost:
        host_pool = self.host_pool(rg, pool)
        for host in host_pool.session_hosts.values():
            if host.name.lower() == name.lower():
                return host
        raise SimError(404, "ResourceNotFound", f"SessionHost '{name}' was not found in host pool '{pool}'.")

    def update_session_host(self, rg: str, pool: str, name: str, patch: dict[str, Any]) -> SessionHost:
        with self.lock:
            host = self.session_host(rg, pool, name)
            props = patch.get("properties") or {}
            if "allowNewSession" in props:
                value = props["allowNewSession"]
                if not isinstance(value, bool):
                    raise SimError(400, "InvalidRequestFormat", "properties.allowNewSession must be a boolean.")
                if not value and host.allow_new_session:
                    host.drained_at = utcnow()
                host.allow_new_session = value
            return host

    def catch_up(self) -> None:
        """Finish the VM boots that are due, so their session hosts are registered before a read."""
        with self.lock:
            if self._catching_up:
                return
            self._catching_up = True
            try:
                for book in self.sources:
                    book.refresh()
            finally:
                self._catching_up = False

    # ---- registration -------------------------------------------------------------------------------------
    def update_host_pool(self, rg: str, name: str, patch: dict[str, Any]) -> HostPool:
        """`registrationInfo` Update: a fresh token valid until `expirationTime` (it replaces the previous one);
        Delete: no token. Other properties are accepted and kept as they are (only the token is simulated)."""
        with self.lock:
            pool = self.host_pool(rg, name)
            props = patch.get("properties") or {}
            if "vmTemplate" in props:
                pool.vm_template = props["vmTemplate"]
            info = props.get("registrationInfo") or {}
            operation = info.get("registrationTokenOperation")
            if operation == "Delete":
                pool.token, pool.token_expires = None, None
            elif operation == "Update":
                try:
                    expires = datetime.fromisoformat(str(info.get("expirationTime", "")).replace("Z", "+00:00"))
                except ValueError:
                    raise SimError(
                        400, "InvalidParameterValue", "registrationInfo.expirationTime is not a date and time."
                    ) from None
                now = utcnow()
                if expires.tzinfo is None or expires <= now:
                    raise SimError(
                        400, "InvalidParameterValue", "registrationInfo.expirationTime must be in the future (UTC)."
                    )
                if self.token_lifetime_cap is not None:
                    expires = min(expires, now + self.cloud.scaled(self.token_lifetime_cap))
                pool.token, pool.token_expires = f"eyJ.{uuid.uuid4().hex}.sim", expires
            return pool

    def registration_token(self, rg: str, name: str) -> HostPool:
        with self.lock:
            return self.host_pool(rg, name)

    def register(
        self, token: str | None, host_name: str, vm: tuple[str, str], location: str, at: datetime | None = None
    ) -> HostPool | None:
        """A booted VM's AVD agent registers with `token` (`at`: when its installer ended, else now): the pool whose
        current, unexpired token it is gets the session host (Available, open to new sessions). None when no pool
        takes the token (wrong or expired)."""
        with self.lock:
            now = at or utcnow()
            pool = next((p for p in self.host_pools.values() if token and p.token == token), None)
            why = None
            if pool is None:
                why = "no host pool has this registration token (wrong, or replaced by a newer one)"
            elif pool.token_expires is None or pool.token_expires <= now:
                why, pool = "the registration token has expired", None
            self.registrations.append(
                {"session_host": host_name, "host_pool": pool.name if pool else None, "at": now,
                 "registered": pool is not None, "why": why, "location": location}
            )  # fmt: skip
            if pool is None:
                return None
            host = pool.session_hosts.get(host_name) or SessionHost(name=host_name)
            host.status, host.unreachable, host.vm, host.registered_at = "Available", False, vm, now
            pool.session_hosts[host_name] = host
            return pool

    def delete_session_host(self, rg: str, pool: str, name: str, force: bool) -> bool:
        """Remove a session host from its pool. Refused while it has sessions, unless `force` (they are logged off
        with it). False when there is none."""
        with self.lock:
            host_pool = self.host_pool(rg, pool)
            key = next((k for k, h in host_pool.session_hosts.items() if h.name.lower() == name.lower()), None)
            if key is None:
                return False
            host = host_pool.session_hosts[key]
            if host.sessions and not force:
                raise SimError(
                    400, "SessionHostHasSessions", f"Session host '{host.name}' has user sessions; delete with force."
                )
            del host_pool.session_hosts[key]
            self.deleted_hosts.append(host.name)
            return True

    def user_session(self, rg: str, pool: str, host: str, session_id: str) -> UserSession:
        session_host = self.session_host(rg, pool, host)
        session = session_host.sessions.get(session_id)
        if session is None:
            raise SimError(404, "ResourceNotFound", f"UserSession '{session_id}' was not found on '{host}'.")
        return session

    def _reachable_host(self, rg: str, pool: str, host: str) -> None:
        session_host = self.session_host(rg, pool, host)
        if session_host.unreachable:
            raise SimError(
                500,
                "SessionHostNotReachable",
                f"Session host '{session_host.name}' could not be reached: its region is down.",
            )

    def send_message(self, rg: str, pool: str, host: str, session_id: str, body: dict[str, Any]) -> None:
        with self.lock:
            self._reachable_host(rg, pool, host)
            session = self.user_session(rg, pool, host, session_id)
            session.messages.append(
                {"title": str(body.get("messageTitle", "")), "body": str(body.get("messageBody", ""))}
            )

    def log_off(self, rg: str, pool: str, host: str, session_id: str) -> bool:
        """Delete (log off) a session. Returns False when it was already gone (ARM answers 204)."""
        with self.lock:
            self._reachable_host(rg, pool, host)
            session_host = self.session_host(rg, pool, host)
            session = session_host.sessions.pop(session_id, None)
            if session is None:
                return False
            self.logged_off.append(
                {
                    "host_pool": pool,
                    "session_host": session_host.name,
                    "session_id": session_id,
                    "user": session.user_principal_name,
                    "at": utcnow(),
                }
            )
            return True

    def sessions_remaining(self) -> int:
        with self.lock:
            return sum(len(h.sessions) for p in self.host_pools.values() for h in p.session_hosts.values())

    # ---- a regional outage (simulator.outage) -----------------------------------------------------------------
    def apply_outage(self, outage: Outage, down: bool) -> None:
        """The outage takes the session hosts of its region down (`Unavailable` and unreachable), or brings back
        the ones it took down, with the status they had."""
        region = outage.key
        if down:
            for (rg, pool_name), pool in self.host_pools.items():
                if region_key(pool.location) != region:
                    continue
                names = outage.hosts_of(list(pool.session_hosts))
                for key, host in pool.session_hosts.items():
                    if key in names and not host.unreachable:
                        outage.hosts_down[(rg, pool_name, key)] = host.status
                        host.status, host.unreachable = "Unavailable", True
        else:
            for (rg, pool_name, key), status in outage.hosts_down.items():
                back = self.host_pools.get((rg, pool_name))
                came_back = back.session_hosts.get(key) if back else None
                if came_back is not None:
                    came_back.status, came_back.unreachable = status, False
            outage.hosts_down.clear()

    # ---- the demo estate and inspection ---------------------------------------------------------------------
    def seed_demo(self, sessions: int) -> None:
        """One pooled host pool in West Europe: `sessions` user sessions (every fifth disconnected) on 12 a host."""
        now = utcnow()
        pool = HostPool(DEMO_AVD_RG, DEMO_HOST_POOL, PRIMARY_REGION, vm_template=json.dumps(DEMO_VM_TEMPLATE))
        host_count = max(2, math.ceil(sessions / 12))
        for index in range(host_count):
            name = f"sh-weu-{index + 1:03d}.contoso.local"
            pool.session_hosts[name] = SessionHost(name=name)
        hosts = list(pool.session_hosts.values())
        for index in range(sessions):
            host = hosts[index % host_count]
            session_id = str(len(host.sessions) + 1)
            host.sessions[session_id] = UserSession(
                session_id=session_id,
                session_host=host.name,
                user_principal_name=f"user{index + 1:05d}@contoso.com",
                state="Disconnected" if index % 5 == 4 else "Active",
                created_at=now - timedelta(minutes=30 + index % 90),
            )
        self.host_pools[(DEMO_AVD_RG, DEMO_HOST_POOL)] = pool

    def snapshot(self) -> dict[str, Any]:
        """Its part of `GET /_sim/state`."""
        self.catch_up()
        with self.lock:
            return {
                "sessions_remaining": self.sessions_remaining(),
                "logged_off": [dict(entry, at=iso(entry["at"])) for entry in self.logged_off],
                "session_hosts": [
                    {
                        "host_pool": pool.name,
                        "name": host.name,
                        "allow_new_session": host.allow_new_session,
                        "drained_at": iso(host.drained_at),
                        "sessions": len(host.sessions),
                        "status": host.status,
                        "vm": "/".join(host.vm) if host.vm else None,
                        "registered_at": iso(host.registered_at),
                    }
                    for pool in self.host_pools.values()
                    for host in pool.session_hosts.values()
                ],
                "registrations": [dict(entry, at=iso(entry["at"])) for entry in self.registrations],
                "deleted_session_hosts": list(self.deleted_hosts),
            }


# ---- HTTPS routes ---------------------------------------------------------------------------------------------
class Routes:
    """The handlers, over one estate's `DesktopVirtualization`."""

    def __init__(self, avd: DesktopVirtualization) -> None:
        self.avd = avd

    def _system_data(self, modified: datetime | None = None) -> dict[str, Any]:
        """ARM's `systemData`: who created and last changed the resource (the simulated estate's operator)."""
        created = iso(self.avd.created_at)
        return {
            "createdBy": "admin@contoso.com",
            "createdByType": "User",
            "createdAt": created,
            "lastModifiedBy": "admin@contoso.com",
            "lastModifiedByType": "User",
            "lastModifiedAt": iso(modified) if modified else created,
        }

    def _pool_json(self, pool: HostPool, arm_id: str, token: str | None = None) -> dict[str, Any]:
        """A host pool in the shape of `HostPool_Get` (no AD FS single sign-on: its `sso*` are null)."""
        seeded = self.avd.created_at
        return {
            "id": arm_id,
            "name": pool.name,
            "type": "Microsoft.DesktopVirtualization/hostpools",
            "location": pool.location,
            "tags": {},
            "systemData": self._system_data(),
            "properties": {
                "objectId": str(uuid.uuid5(uuid.NAMESPACE_URL, arm_id.lower())),
                "friendlyName": pool.name,
                "description": f"Pooled host pool {pool.name} ({pool.location})",
                "hostPoolType": pool.pool_type,
                "personalDesktopAssignmentType": "Automatic",
                "customRdpProperty": "drivestoredirect:s:;redirectclipboard:i:1;",
                "maxSessionLimit": 999999,
                "loadBalancerType": "BreadthFirst",
                "validationEnvironment": False,
                "ring": None,
                "registrationInfo": {
                    "expirationTime": iso(pool.token_expires or seeded + timedelta(days=27)),
                    "token": token,  # ARM returns it only in the answer to the PATCH that made it
                    "registrationTokenOperation": "Update" if token else "None",
                },
                "vmTemplate": pool.vm_template,
                "ssoadfsAuthority": None,
                "ssoClientId": None,
                "ssoClientSecretKeyVaultPath": None,
                "ssoSecretType": None,
                "preferredAppGroupType": "Desktop",
                "startVMOnConnect": False,
                "cloudPcResource": False,
                "publicNetworkAccess": "Enabled",
                "agentUpdate": {
                    "type": "Scheduled",
                    "useSessionHostLocalTime": False,
                    "maintenanceWindowTimeZone": "W. Europe Standard Time",
                    "maintenanceWindows": [{"hour": 2, "dayOfWeek": "Saturday"}],
                },
            },
        }

    def _host_json(self, pool_id: str, host: SessionHost) -> dict[str, Any]:
        """A session host in the shape of `SessionHost_Get` / `_List` (a pooled host: no `assignedUser`)."""
        host_id = f"{pool_id}/sessionHosts/{host.name}"
        vm_name = host.name.split(".")[0]
        now = iso(utcnow())
        available = host.status == "Available"
        check = {
            "healthCheckName": "DomainJoinedCheck",
            "healthCheckResult": "HealthCheckSucceeded" if available else "HealthCheckFailed",
            "additionalFailureDetails": {
                "message": f"SessionHost healthy: is joined to domain {DOMAIN}"
                if available
                else "SessionHost unhealthy: the session host does not report (its VM is not running)",
                "errorCode": 0 if available else 1,
                "lastHealthCheckDateTime": now,
            },
        }
        return {
            "id": host_id,
            "name": f"{pool_id.rsplit('/', 1)[-1]}/{host.name}",
            "type": "Microsoft.DesktopVirtualization/hostPools/sessionhosts",
            "systemData": self._system_data(host.drained_at),
            "properties": {
                "objectId": str(uuid.uuid5(uuid.NAMESPACE_URL, host_id.lower())),
                "lastHeartBeat": now,
                "sessions": len(host.sessions),
                "agentVersion": "1.0.0.1391",
                "allowNewSession": host.allow_new_session,
                "assignedUser": None,  # pooled: only personal host pools assign users
                "status": host.status,
                "statusTimestamp": now,
                "osVersion": "10.0.22631",
                "sxSStackVersion": "rdp-sxs240502700",
                "updateState": "Succeeded",
                "lastUpdateTime": iso(self.avd.created_at),
                "updateErrorMessage": "",
                "virtualMachineId": str(uuid.uuid5(uuid.NAMESPACE_DNS, vm_name)),
                "friendlyName": vm_name,
                "resourceId": f"/subscriptions/{self.avd.subscription_id}/resourceGroups/"
                f"{host.vm[0] if host.vm else 'rg-avd-weu'}/providers/Microsoft.Compute/virtualMachines/{vm_name}",
                "sessionHostHealthCheckResults": [check],
            },
        }

    def _session_json(self, pool_id: str, session: UserSession) -> dict[str, Any]:
        return {
            "id": f"{pool_id}/sessionHosts/{session.session_host}/userSessions/{session.session_id}",
            "name": f"{pool_id.rsplit('/', 1)[-1]}/{session.session_host}/{session.session_id}",
            "type": "Microsoft.DesktopVirtualization/hostPools/sessionHosts/userSessions",
            "systemData": {**self._system_data(), "createdAt": iso(session.created_at)},
            "properties": {
                "objectId": session.session_id,
                "userPrincipalName": session.user_principal_name,
                "applicationType": "Desktop",
                "sessionState": session.state,
                "activeDirectoryUserName": "CONTOSO\\" + session.user_principal_name.split("@")[0],
                "createTime": iso(session.created_at),
            },
        }

    def _pool_id(self, m: dict[str, str]) -> str:
        return (
            f"/subscriptions/{m['sub']}/resourceGroups/{m['rg']}/providers/"
            f"Microsoft.DesktopVirtualization/hostPools/{m['hp']}"
        )

    async def host_pool_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        pool = self.avd.host_pool(m["rg"], m["hp"])
        return web.json_response(self._pool_json(pool, self._pool_id(m)))

    async def host_pool_update(self, request: web.Request, m: dict[str, str]) -> web.Response:
        body = check_body(await json_body(request), HOST_POOL_PATCH_BODY, AVD_ERRORS)
        with self.avd.lock:
            pool = self.avd.update_host_pool(m["rg"], m["hp"], body)
            renewed = ((body.get("properties") or {}).get("registrationInfo") or {}).get("registrationTokenOperation")
            token = pool.token if renewed == "Update" else None
            return web.json_response(self._pool_json(pool, self._pool_id(m), token))

    async def retrieve_token(self, request: web.Request, m: dict[str, str]) -> web.Response:
        """`HostPools_RetrieveRegistrationToken`: the current token and its expiry (token null when there is none
        or it has expired)."""
        with self.avd.lock:
            pool = self.avd.registration_token(m["rg"], m["hp"])
            live = pool.token is not None and pool.token_expires is not None and pool.token_expires > utcnow()
            return web.json_response(
                {
                    "expirationTime": iso(pool.token_expires) if live else None,
                    "token": pool.token if live else None,
                    "registrationTokenOperation": "Update" if live else "None",
                }
            )

    async def session_host_delete(self, request: web.Request, m: dict[str, str]) -> web.Response:
        force = (request.query.get("force") or "false").lower()
        if force not in ("true", "false"):
            raise SimError(400, "InvalidParameterValue", f"The query parameter force '{force}' is not a boolean.")
        existed = self.avd.delete_session_host(m["rg"], m["hp"], m["sh"], force == "true")
        return web.Response(status=200 if existed else 204)

    async def session_hosts_list(self, request: web.Request, m: dict[str, str]) -> web.Response:
        self.avd.catch_up()
        with self.avd.lock:
            pool = self.avd.host_pool(m["rg"], m["hp"])
            items = [self._host_json(self._pool_id(m), h) for h in pool.session_hosts.values()]
        return page_by_skip(request, items)

    async def session_host_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        self.avd.catch_up()
        with self.avd.lock:
            host = self.avd.session_host(m["rg"], m["hp"], m["sh"])
            return web.json_response(self._host_json(self._pool_id(m), host))

    async def session_host_update(self, request: web.Request, m: dict[str, str]) -> web.Response:
        body = check_body(await json_body(request), SESSION_HOST_PATCH_BODY, AVD_ERRORS)
        host = self.avd.update_session_host(m["rg"], m["hp"], m["sh"], body)
        with self.avd.lock:
            return web.json_response(self._host_json(self._pool_id(m), host))

    async def sessions_by_pool(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.avd.lock:
            pool = self.avd.host_pool(m["rg"], m["hp"])
            items = [
                self._session_json(self._pool_id(m), s)
                for h in pool.session_hosts.values()
                for s in h.sessions.values()
            ]
        return page_by_skip(request, items)

    async def sessions_by_host(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.avd.lock:
            host = self.avd.session_host(m["rg"], m["hp"], m["sh"])
            items = [self._session_json(self._pool_id(m), s) for s in host.sessions.values()]
        return page_by_skip(request, items)

    async def session_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.avd.lock:
            session = self.avd.user_session(m["rg"], m["hp"], m["sh"], m["id"])
            return web.json_response(self._session_json(self._pool_id(m), session))

    async def session_delete(self, request: web.Request, m: dict[str, str]) -> web.Response:
        force = request.query.get("force")
        if force is not None and force.lower() not in ("true", "false"):
            raise SimError(400, "InvalidParameterValue", f"The query parameter force '{force}' is not a boolean.")
        with self.avd.lock:
            self.avd.session_host(m["rg"], m["hp"], m["sh"])  # 404 for an unknown host
            existed = self.avd.log_off(m["rg"], m["hp"], m["sh"], m["id"])
        return web.Response(status=200 if existed else 204)

    async def session_message(self, request: web.Request, m: dict[str, str]) -> web.Response:
        body = check_body(await json_body(request), SEND_MESSAGE_BODY, AVD_ERRORS)
        self.avd.send_message(m["rg"], m["hp"], m["sh"], m["id"], body)
        return web.Response(status=200)

    async def session_disconnect(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.avd.lock:
            self.avd.user_session(m["rg"], m["hp"], m["sh"], m["id"]).state = "Disconnected"
        return web.Response(status=200)


def add_routes(table: RouteTable, avd: DesktopVirtualization) -> None:
    """Register the AVD routes."""
    r = Routes(avd)
    add = table.add
    add("GET", _HP + r"$", "avd.hostpool.get", r.host_pool_get)
    add("PATCH", _HP + r"$", "avd.hostpool.update", r.host_pool_update)
    add("POST", _HP + r"/retrieveregistrationtoken$", "avd.hostpool.retrieve_registration_token", r.retrieve_token)
    add("DELETE", _SH + r"$", "avd.sessionhosts.delete", r.session_host_delete)
    add("GET", _HP + r"/sessionhosts$", "avd.sessionhosts.list", r.session_hosts_list)
    add("GET", _SH + r"$", "avd.sessionhosts.get", r.session_host_get)
    add("PATCH", _SH + r"$", "avd.sessionhosts.update", r.session_host_update)
    add("GET", _HP + r"/usersessions$", "avd.usersessions.list_by_host_pool", r.sessions_by_pool)
    add("GET", _SH + r"/usersessions$", "avd.usersessions.list", r.sessions_by_host)
    add("GET", _SH + r"/usersessions/(?P<id>[^/]+)$", "avd.usersessions.get", r.session_get)
    add("DELETE", _SH + r"/usersessions/(?P<id>[^/]+)$", "avd.usersessions.delete", r.session_delete)
    add(
        "POST",
        _SH + r"/usersessions/(?P<id>[^/]+)/sendmessage$",
        "avd.usersessions.send_message",
        r.session_message,
    )
    add(
        "POST",
        _SH + r"/usersessions/(?P<id>[^/]+)/disconnect$",
        "avd.usersessions.disconnect",
        r.session_disconnect,
    )
