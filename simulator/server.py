"""The simulator's HTTPS server: Azure-shaped routes over an `Estate`, on loopback, with a throwaway CA.

Routes (paths compared case-insensitively, as ARM does; every ARM route needs a bearer token):
- AVD (Microsoft.DesktopVirtualization): host pool get; session hosts list/get/update (drain);
  user sessions list by host pool / by session host, get, delete (log off), sendMessage, disconnect.
- ASR (Microsoft.RecoveryServices): recovery plans list/get, plannedFailover / unplannedFailover (either
  direction: RecoveryToPrimary is a failback) / failoverCommit / testFailover / testFailoverCleanup /
  reProtect (202 + Azure-AsyncOperation + Location + Retry-After), operation status, operation results (the
  Location: the recovery plan once the job is done), jobs get/list, replication protected items (A2A, and the
  HyperVReplicaAzure ones of an Azure Local site: `simulator.hyperv`) list by vault (paged by `skipToken`) / by
  protection container, get.
- Azure DNS: record set get / create_or_update with If-Match.
- Event Grid topic: `POST /eventgrid/api/events` (CloudEvents batch, `aeg-sas-key` or bearer).
- Teams Workflows webhook: `POST /teams/workflows/{id}/...?sig=...` records the message.
- Inspection (contract): `GET /_sim/teams/messages`, `GET /_sim/events`, `GET /_sim/state`.

Shapes follow Microsoft's REST examples (`tests/simulator/test_conformance_examples.py` replays them); request
bodies are checked against their REST spec (`*_BODY` below, `simulator.network.check_body`): a body Azure would
refuse is a 400 in ARM's error envelope and changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import trustme
from aiohttp import web

from simulator import dependencies, hyperv, network, sites
from simulator.background import BackgroundServer
from simulator.estate import (
    PLAN_ALLOWED_OPERATIONS,
    Estate,
    HostPool,
    Job,
    ProtectedItem,
    RecordSet,
    RecoveryPlan,
    SessionHost,
    SimError,
    UserSession,
    iso,
    utcnow,
)
from simulator.network import BodyErrors, Field, check_body, json_body

Handler = Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]

_SUB = r"/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)/providers"
_HP = _SUB + r"/microsoft\.desktopvirtualization/hostpools/(?P<hp>[^/]+)"
_SH = _HP + r"/sessionhosts/(?P<sh>[^/]+)"
_VAULT = _SUB + r"/microsoft\.recoveryservices/vaults/(?P<vault>[^/]+)"
_ZONE = _SUB + r"/microsoft\.network/dnszones/(?P<zone>[^/]+)"
_CONTAINER = _VAULT + r"/replicationfabrics/(?P<fabric>[^/]+)/replicationprotectioncontainers/(?P<container>[^/]+)"

# The A2A fabrics and protection containers ASR creates by default for a West → North Europe pair.
PRIMARY_FABRIC = "asr-a2a-default-westeurope"
PRIMARY_CONTAINER = "asr-a2a-default-westeurope-container"
RECOVERY_FABRIC = "asr-a2a-default-northeurope"
RECOVERY_CONTAINER = "asr-a2a-default-northeurope-container"
A2A_POLICY = "24-hour-retention-policy"
DOMAIN = "contoso.local"  # the AD domain the simulated session hosts are joined to
# A protected item's `testFailoverStateDescription` for each simulated `testFailoverState`.
TEST_FAILOVER_DESCRIPTIONS = {
    "None": "None",
    "TestFailoverInProgress": "Test failover in progress",
    "TestFailoverCompleted": "Test failover completed; cleanup pending",
    "TestFailoverFailed": "Test failover failed; cleanup pending",
    "MarkedForDeletion": "Cleaning up test environment",
}


# ---- request bodies, as the REST specs define them (simulator.network.check_body) --------------------------
# ASR: a missing or mistyped member is an InvalidRequestFormat, a value outside an enum InvalidParameterValue.
ASR_ERRORS = BodyErrors("InvalidRequestFormat", "InvalidRequestFormat", "InvalidParameterValue")
_DIRECTION = Field("string", required=True, enum=("PrimaryToRecovery", "RecoveryToPrimary"))
# `providerSpecificDetails[]` is polymorphic by instanceType; only the A2A input's members are checked here, the
# Hyper-V ones and the match with the plan's provider by the estate (`simulator.hyperv`).
_PROVIDER_INPUTS = Field(
    "array",
    items=Field(
        "object",
        variants={
            "A2A": {
                "recoveryPointType": Field(
                    "string",
                    required=True,
                    enum=("Latest", "LatestApplicationConsistent", "LatestCrashConsistent", "LatestProcessed"),
                ),
                "cloudServiceCreationOption": Field("string"),
                "multiVmSyncPointOption": Field(
                    "string", enum=("UseMultiVmSyncRecoveryPoint", "UsePerVmRecoveryPoint")
                ),
            },
            **{
                kind: {}
                for kind in (
                    "HyperVReplicaAzure",
                    "HyperVReplicaAzureFailback",
                    "InMage",
                    "InMageAzureV2",
                    "InMageRcm",
                    "InMageRcmFailback",
                )
            },
        },
    ),
)


def _asr_input(**members: Field) -> Field:
    return Field("object", members={"properties": Field("object", required=True, members=members)})


PLANNED_FAILOVER_BODY = _asr_input(failoverDirection=_DIRECTION, providerSpecificDetails=_PROVIDER_INPUTS)
UNPLANNED_FAILOVER_BODY = _asr_input(
    failoverDirection=_DIRECTION,
    sourceSiteOperations=Field("string", required=True, enum=("Required", "NotRequired")),
    providerSpecificDetails=_PROVIDER_INPUTS,
)
TEST_FAILOVER_BODY = _asr_input(
    failoverDirection=_DIRECTION,
    networkType=Field("string", required=True),  # free text in the spec; the estate checks the known values
    networkId=Field("string"),
    providerSpecificDetails=_PROVIDER_INPUTS,
)
TEST_FAILOVER_CLEANUP_BODY = _asr_input(comments=Field("string"))
# AVD
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
SEND_MESSAGE_BODY = Field("object", members={"messageTitle": Field("string"), "messageBody": Field("string")})
# Azure DNS (record sets A and CNAME; the other record types' members are not checked)
DNS_ERRORS = BodyErrors("BadRequest", "BadRequest", "BadRequest")
RECORD_SET_BODY = Field(
    "object",
    members={
        "etag": Field("string"),
        "properties": Field(
            "object",
            required=True,
            members={
                "TTL": Field("integer"),
                "metadata": Field("object", values=Field("string")),
                "ARecords": Field("array", items=Field("object", members={"ipv4Address": Field("string")})),
                "CNAMERecord": Field("object", members={"cname": Field("string")}),
                "targetResource": Field("object", members={"id": Field("string")}),
            },
        ),
    },
)


def _error(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    extra: dict[str, str] | None = None,
) -> web.Response:
    error = {"code": code, "message": message, **(extra or {})}
    return web.json_response({"error": error}, status=status, headers=headers)


class SimulatorApp:
    """Dispatches requests to handlers; owns the estate."""

    def __init__(self, estate: Estate) -> None:
        self.estate = estate
        self.base_url = ""  # set once the server listens
        self.routes: list[tuple[str, re.Pattern[str], str, Handler]] = []
        add = self._add
        # AVD
        add("GET", _HP + r"$", "avd.hostpool.get", self.host_pool_get)
        add("GET", _HP + r"/sessionhosts$", "avd.sessionhosts.list", self.session_hosts_list)
        add("GET", _SH + r"$", "avd.sessionhosts.get", self.session_host_get)
        add("PATCH", _SH + r"$", "avd.sessionhosts.update", self.session_host_update)
        add("GET", _HP + r"/usersessions$", "avd.usersessions.list_by_host_pool", self.sessions_by_pool)
        add("GET", _SH + r"/usersessions$", "avd.usersessions.list", self.sessions_by_host)
        add("GET", _SH + r"/usersessions/(?P<id>[^/]+)$", "avd.usersessions.get", self.session_get)
        add("DELETE", _SH + r"/usersessions/(?P<id>[^/]+)$", "avd.usersessions.delete", self.session_delete)
        add(
            "POST",
            _SH + r"/usersessions/(?P<id>[^/]+)/sendmessage$",
            "avd.usersessions.send_message",
            self.session_message,
        )
        add(
            "POST",
            _SH + r"/usersessions/(?P<id>[^/]+)/disconnect$",
            "avd.usersessions.disconnect",
            self.session_disconnect,
        )
        # ASR
        add("GET", _VAULT + r"/replicationrecoveryplans$", "asr.recoveryplans.list", self.plans_list)
        add("GET", _VAULT + r"/replicationrecoveryplans/(?P<rp>[^/]+)$", "asr.recoveryplans.get", self.plan_get)
        add(
            "POST",
            _VAULT + r"/replicationrecoveryplans/(?P<rp>[^/]+)/(?P<op>plannedfailover|unplannedfailover)$",
            "asr.recoveryplans.failover",
            self.plan_failover,
        )
        for operation, name, handler in (
            ("failovercommit", "commit", self.plan_commit),
            ("testfailover", "test_failover", self.plan_test_failover),
            ("testfailovercleanup", "test_failover_cleanup", self.plan_test_failover_cleanup),
            ("reprotect", "reprotect", self.plan_reprotect),
        ):
            route = _VAULT + rf"/replicationrecoveryplans/(?P<rp>[^/]+)/{operation}$"
            add("POST", route, f"asr.recoveryplans.{name}", handler)
        add(
            "GET",
            _VAULT + r"/replicationoperationstatus/(?P<job>[^/]+)$",
            "asr.operationstatus.get",
            self.operation_status,
        )
        add(
            "GET",
            _VAULT + r"/replicationoperationresults/(?P<job>[^/]+)$",
            "asr.operationresults.get",
            self.operation_result,
        )
        add("GET", _VAULT + r"/replicationjobs$", "asr.jobs.list", self.jobs_list)
        add("GET", _VAULT + r"/replicationjobs/(?P<job>[^/]+)$", "asr.jobs.get", self.job_get)
        add("GET", _VAULT + r"/replicationprotecteditems$", "asr.protecteditems.list", self.items_list)
        add(
            "GET",
            _CONTAINER + r"/replicationprotecteditems$",
            "asr.protecteditems.list_by_container",
            self.items_by_container,
        )
        add("GET", _CONTAINER + r"/replicationprotecteditems/(?P<item>[^/]+)$", "asr.protecteditems.get", self.item_get)
        # DNS
        add("GET", _ZONE + r"/(?P<type>a|cname)/(?P<name>[^/]+)$", "dns.recordsets.get", self.record_get)
        add("PUT", _ZONE + r"/(?P<type>a|cname)/(?P<name>[^/]+)$", "dns.recordsets.put", self.record_put)
        # Data planes and sinks
        add("POST", r"/eventgrid/api/events$", "eventgrid.publish", self.eventgrid_publish)
        add("POST", r"/teams/workflows/(?P<workflow>[^/]+)(/.*)?$", "teams.webhook", self.teams_post)
        add("GET", r"/_sim/teams/messages$", "sim.teams", self.sim_teams)
        add("GET", r"/_sim/events$", "sim.events", self.sim_events)
        add("GET", r"/_sim/state$", "sim.state", self.sim_state)
        network.add_routes(add, self)  # Traffic Manager, Logs query API, GET /_sim/network
        dependencies.add_routes(add, self)  # SQL failover groups, storage, VMs, Automation webhooks, /_sim/webhooks
        sites.add_routes(add, self)  # VNets, gateways, ASR network mappings, NetApp, Backup restores, /_sim/sites

    def _add(self, method: str, pattern: str, name: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(pattern, re.IGNORECASE), name, handler))

    # ---- dispatch -------------------------------------------------------------------------
    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.estate.tick()  # a scheduled outage begins, flaps or ends (simulator.outage)
        allowed = False
        for method, pattern, name, handler in self.routes:
            match = pattern.match(path)
            if not match:
                continue
            allowed = True
            if method != request.method:
                continue
            with self.estate.lock:
                self.estate.requests[name] += 1
            response = await self._answer(request, name, handler, match.groupdict())
            if path.lower().startswith("/subscriptions/"):
                response.headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
                response.headers.setdefault(
                    "x-ms-correlation-request-id",
                    request.headers.get("x-ms-correlation-request-id") or str(uuid.uuid4()),
                )
            return response
        if allowed:
            return _error(405, "MethodNotAllowed", f"{request.method} is not allowed on {path}.")
        return _error(404, "NotFound", f"No simulated route for {request.method} {path}.")

    async def _answer(
        self, request: web.Request, name: str, handler: Handler, params: dict[str, str]
    ) -> web.StreamResponse:
        """Authenticate an ARM request, pass it through the fault layer (throttling, latency, injected
        faults: `simulator.faults`), then run its handler."""
        arm = request.path.lower().startswith("/subscriptions/")
        if arm:
            if not request.headers.get("Authorization", "").startswith("Bearer "):
                return _error(401, "AuthenticationFailed", "Authentication failed: no bearer token.")
            if "api-version" not in request.query:
                return _error(400, "MissingApiVersionParameter", "The api-version query parameter is required.")
        subscription = request.path.split("/")[2] if arm else None
        decision = self.estate.faults.decide(name, request.method, subscription)
        if decision.delay > 0:
            await asyncio.sleep(decision.delay)
        if decision.reset:
            return self._drop(request)
        if decision.status is not None:
            response: web.StreamResponse = _error(decision.status, decision.code, decision.message, decision.headers)
        else:
            try:
                response = await handler(request, params)
            except SimError as err:
                response = _error(err.status, err.code, err.message, extra=err.extra)
            if decision.reset_after:
                return self._drop(request)
        response.headers.update(decision.ratelimit)
        return response

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        """Drop the connection without an answer (a connection reset, as the client sees it)."""
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=503)  # never reaches the client: its connection is gone

    def _arm_id(self, request: web.Request) -> str:
        return request.path

    # ---- AVD ------------------------------------------------------------------------------
    def _system_data(self, modified: datetime | None = None) -> dict[str, Any]:
        """ARM's `systemData`: who created and last changed the resource (the simulated estate's operator)."""
        created = iso(self.estate.created_at)
        return {
            "createdBy": "admin@contoso.com",
            "createdByType": "User",
            "createdAt": created,
            "lastModifiedBy": "admin@contoso.com",
            "lastModifiedByType": "User",
            "lastModifiedAt": iso(modified) if modified else created,
        }

    def _pool_json(self, pool: HostPool, arm_id: str) -> dict[str, Any]:
        """A pooled host pool in the shape of `HostPool_Get` (no AD FS single sign-on: its `sso*` are null)."""
        seeded = self.estate.created_at
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
                "hostPoolType": "Pooled",
                "personalDesktopAssignmentType": "Automatic",
                "customRdpProperty": "drivestoredirect:s:;redirectclipboard:i:1;",
                "maxSessionLimit": 999999,
                "loadBalancerType": "BreadthFirst",
                "validationEnvironment": False,
                "ring": None,
                "registrationInfo": {
                    "expirationTime": iso(seeded + timedelta(days=27)),
                    "token": None,  # ARM never returns the registration token on a GET
                    "registrationTokenOperation": "None",
                },
                "vmTemplate": json.dumps(
                    {"namePrefix": pool.name.removeprefix("hp-"), "vmSize": {"id": "Standard_D8s_v5"}}
                ),
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
                "lastUpdateTime": iso(self.estate.created_at),
                "updateErrorMessage": "",
                "virtualMachineId": str(uuid.uuid5(uuid.NAMESPACE_DNS, vm_name)),
                "friendlyName": vm_name,
                "resourceId": f"/subscriptions/{self.estate.subscription_id}/resourceGroups/rg-avd-weu/providers/"
                f"Microsoft.Compute/virtualMachines/{vm_name}",
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

    def _page(self, request: web.Request, items: list[dict[str, Any]]) -> web.Response:
        """ARM paging: `pageSize` and `initialSkip` query parameters, `nextLink` while more remain."""
        try:
            size = int(request.query.get("pageSize", "1000"))
            skip = int(request.query.get("initialSkip", "0"))
        except ValueError:
            return _error(400, "InvalidParameterValue", "pageSize and initialSkip must be integers.")
        size = max(1, min(size, 1000))
        page = items[skip : skip + size]
        body: dict[str, Any] = {"value": page}
        if skip + size < len(items):
            query = dict(request.query)
            query["initialSkip"] = str(skip + size)
            query["pageSize"] = str(size)
            body["nextLink"] = str(request.url.with_scheme("https").with_query(query))
        else:
            body["nextLink"] = None
        return web.json_response(body)

    def _pool_id(self, m: dict[str, str]) -> str:
        return (
            f"/subscriptions/{m['sub']}/resourceGroups/{m['rg']}/providers/"
            f"Microsoft.DesktopVirtualization/hostPools/{m['hp']}"
        )

    async def host_pool_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        pool = self.estate.host_pool(m["rg"], m["hp"])
        return web.json_response(self._pool_json(pool, self._pool_id(m)))

    async def session_hosts_list(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.estate.lock:
            pool = self.estate.host_pool(m["rg"], m["hp"])
            items = [self._host_json(self._pool_id(m), h) for h in pool.session_hosts.values()]
        return self._page(request, items)

    async def session_host_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.estate.lock:
            host = self.estate.session_host(m["rg"], m["hp"], m["sh"])
            return web.json_response(self._host_json(self._pool_id(m), host))

    async def session_host_update(self, request: web.Request, m: dict[str, str]) -> web.Response:
        body = check_body(await json_body(request), SESSION_HOST_PATCH_BODY, AVD_ERRORS)
        host = self.estate.update_session_host(m["rg"], m["hp"], m["sh"], body)
        with self.estate.lock:
            return web.json_response(self._host_json(self._pool_id(m), host))

    async def sessions_by_pool(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.estate.lock:
            pool = self.estate.host_pool(m["rg"], m["hp"])
            items = [
                self._session_json(self._pool_id(m), s)
                for h in pool.session_hosts.values()
                for s in h.sessions.values()
            ]
        return self._page(request, items)

    async def sessions_by_host(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.estate.lock:
            host = self.estate.session_host(m["rg"], m["hp"], m["sh"])
            items = [self._session_json(self._pool_id(m), s) for s in host.sessions.values()]
        return self._page(request, items)

    async def session_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.estate.lock:
            session = self.estate.user_session(m["rg"], m["hp"], m["sh"], m["id"])
            return web.json_response(self._session_json(self._pool_id(m), session))

    async def session_delete(self, request: web.Request, m: dict[str, str]) -> web.Response:
        force = request.query.get("force")
        if force is not None and force.lower() not in ("true", "false"):
            raise SimError(400, "InvalidParameterValue", f"The query parameter force '{force}' is not a boolean.")
        with self.estate.lock:
            self.estate.session_host(m["rg"], m["hp"], m["sh"])  # 404 for an unknown host
            existed = self.estate.log_off(m["rg"], m["hp"], m["sh"], m["id"])
        return web.Response(status=200 if existed else 204)

    async def session_message(self, request: web.Request, m: dict[str, str]) -> web.Response:
        body = check_body(await json_body(request), SEND_MESSAGE_BODY, AVD_ERRORS)
        self.estate.send_message(m["rg"], m["hp"], m["sh"], m["id"], body)
        return web.Response(status=200)

    async def session_disconnect(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.estate.lock:
            self.estate.user_session(m["rg"], m["hp"], m["sh"], m["id"]).state = "Disconnected"
        return web.Response(status=200)

    # ---- ASR ------------------------------------------------------------------------------
    def _vault_id(self, m: dict[str, str]) -> str:
        return (
            f"/Subscriptions/{m['sub']}/resourceGroups/{m['rg']}/providers/"
            f"Microsoft.RecoveryServices/vaults/{m['vault']}"
        )

    def _plan_json(self, vault_id: str, plan: RecoveryPlan) -> dict[str, Any]:
        job = self.estate.jobs.get((plan.resource_group.lower(), plan.vault.lower(), plan.current_job or ""))
        running = job is not None and job.state == "InProgress"
        props: dict[str, Any] = {
            "friendlyName": plan.name,
            # no operation is allowed while a job of the plan runs (a commit too: the plan stays FailedOver)
            "allowedOperations": [] if running else list(PLAN_ALLOWED_OPERATIONS[plan.state]),
            "failoverDeploymentModel": "ResourceManager",
            "primaryFabricFriendlyName": "West Europe",
            "primaryFabricId": f"{vault_id}/replicationFabrics/{PRIMARY_FABRIC}",
            "recoveryFabricFriendlyName": "North Europe",
            "recoveryFabricId": f"{vault_id}/replicationFabrics/{RECOVERY_FABRIC}",
            "replicationProviders": ["A2A"],
            "groups": [
                {
                    "groupType": group_type,
                    "replicationProtectedItems": [
                        {"id": self._item_id(vault_id, item), "virtualMachineId": item.vm_id} for item in items
                    ],
                    "startGroupActions": [],
                    "endGroupActions": [],
                }
                for group_type, items in plan.groups
            ],
        }
        if job is not None:
            props["currentScenario"] = {
                "scenarioName": plan.current_scenario,
                "jobId": f"{vault_id}/replicationJobs/{job.name}",
                "startTime": iso(plan.current_scenario_started),
            }
            status = {"InProgress": "InProgress", "Succeeded": "Succeeded"}.get(job.state, "Failed")
            description = {"Succeeded": "Completed"}.get(job.state, job.state)
            if job.scenario == "TestFailover" and job.state == "Succeeded" and plan.state == "TestFailedOver":
                # as ReplicationRecoveryPlans_TestFailover shows: the test VMs wait for the cleanup
                status, description = "Suspended", "WaitingForStopTestFailover"
            props["currentScenarioStatus"] = status
            props["currentScenarioStatusDescription"] = description
        for key, at in (
            ("lastPlannedFailoverTime", plan.last_planned_failover_at),
            ("lastUnplannedFailoverTime", plan.last_unplanned_failover_at),
            ("lastTestFailoverTime", plan.last_test_failover_at),
        ):
            if at:
                props[key] = iso(at)
        body = {
            "id": f"{vault_id}/replicationRecoveryPlans/{plan.name}",
            "name": plan.name,
            "type": "Microsoft.RecoveryServices/vaults/replicationRecoveryPlans",
            "properties": props,
        }
        if plan.provider == hyperv.HYPERV:  # an Azure Local site's plan: its Hyper-V site, then Azure
            return hyperv.of(self.estate).plan_json(vault_id, plan, body)
        return body

    def _job_json(self, vault_id: str, job: Job) -> dict[str, Any]:
        """A recovery plan job in the shape of `ReplicationJobs_Get`: two tasks (the prerequisites check, then the
        operation itself, which carries the job's state and errors)."""
        description = {"Succeeded": "Completed"}.get(job.state, job.state)
        check_done = job.started_at + min(self.estate.scaled(5), (job.due_at - job.started_at) / 10)
        tasks: list[dict[str, Any]] = [
            {
                "name": "PreflightCheckTask",
                "friendlyName": f"Prerequisites check for {job.friendly_name.lower()}",
                "state": "Succeeded",
                "stateDescription": "Completed",
                "startTime": iso(job.started_at),
                "endTime": iso(check_done),
                "errors": [],
            },
            *(
                {
                    "name": "ShutdownPrimaryVirtualMachinesTask",
                    "friendlyName": "Shut down the virtual machines at the primary site",
                    "state": "Failed",
                    "stateDescription": "Failed",
                    "startTime": iso(job.started_at),
                    "endTime": iso(check_done),
                    "errors": job.warnings,
                }
                for _ in job.warnings[:1]
            ),
            {
                "name": f"{job.scenario}Task",
                "friendlyName": f"{job.friendly_name} of recovery plan {job.plan_name}",
                "state": job.state,
                "stateDescription": description,
                "startTime": iso(check_done),
                "endTime": iso(job.ended_at),
                "errors": job.errors,
            },
        ]
        return {
            "id": f"{vault_id}/replicationJobs/{job.name}",
            "name": job.name,
            "type": "Microsoft.RecoveryServices/vaults/replicationJobs",
            "properties": {
                "activityId": job.name,
                "scenarioName": job.scenario,
                "friendlyName": job.friendly_name,
                "state": job.state,
                "stateDescription": description,
                "startTime": iso(job.started_at),
                "endTime": iso(job.ended_at),
                "targetObjectId": job.plan_name,
                "targetObjectName": job.plan_name,
                "targetInstanceType": "RecoveryPlan",
                "allowedActions": ["Cancel"] if job.state == "InProgress" else [],
                "errors": job.errors,
                "tasks": [
                    {
                        **task,
                        "allowedActions": [],
                        "customDetails": {"instanceType": "VirtualMachineTaskDetails"},
                        "taskId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{job.name}/{task['name']}")),
                        "taskType": "TaskDetails",
                    }
                    for task in tasks
                ],
                "customDetails": {
                    "instanceType": "AsrJobDetails",
                    "affectedObjectDetails": {
                        "PrimaryFabricProviderId": "Azure",
                        "PrimaryFabricName": PRIMARY_FABRIC,
                        "RecoveryFabricProviderId": "Azure",
                        "RecoveryFabricName": RECOVERY_FABRIC,
                        "RecoveryPlanName": job.plan_name,
                    },
                },
            },
        }

    def _item_id(self, vault_id: str, item: ProtectedItem) -> str:
        azure_local = hyperv.of(self.estate)
        if azure_local.is_hyperv(item):
            return azure_local.item_id(vault_id, item)
        return (
            f"{vault_id}/replicationFabrics/{PRIMARY_FABRIC}/replicationProtectionContainers/{PRIMARY_CONTAINER}"
            f"/replicationProtectedItems/{item.vm_name}"
        )

    def _item_json(self, vault_id: str, plan: RecoveryPlan, item: ProtectedItem) -> dict[str, Any]:
        """An A2A replication protected item in ASR's shape (ReplicationProtectedItems_Get, 2025-08-01).

        A running job of the item's recovery plan (failover or commit) shows as the item's
        `currentScenario`; with none, ASR's placeholder (`None`, job `None`, 1753-01-01) is returned.
        """
        sub = vault_id.split("/")[2]
        item_id = self._item_id(vault_id, item)
        health, errors = self.estate.item_health(item)
        state = item.protection_state
        job = self.estate.jobs.get((plan.resource_group.lower(), plan.vault.lower(), plan.current_job or ""))
        running = job is not None and job.state == "InProgress"
        test_vm = item.test_failover_at is not None
        if running:
            allowed: list[str] = []
        elif item.test_failover_state in ("TestFailoverCompleted", "TestFailoverFailed"):
            allowed = ["TestFailoverCleanup", "DisableProtection"]
        elif state.endswith("CommitPendingStatesBegin"):
            allowed = ["Commit", "ChangePit", "DisableProtection"]
        elif state.endswith("Committed"):
            allowed = ["ReverseReplicate", "DisableProtection"]
        elif state.endswith("FailoverFailed"):
            allowed = ["UnplannedFailover", "DisableProtection", "TestFailover"]
        else:
            allowed = ["PlannedFailover", "UnplannedFailover", "DisableProtection", "TestFailover"]
        if running and job is not None:
            scenario = {
                "scenarioName": job.scenario,
                "jobId": f"{vault_id}/replicationJobs/{job.name}",
                "startTime": iso(job.started_at),
            }
        else:
            scenario = {
                "scenarioName": "None",
                "jobId": f"{vault_id}/replicationJobs/None",
                "startTime": "1753-01-01T01:01:01Z",
            }
        description = next(
            text
            for suffix, text in (
                ("Protected", "Protected"),
                ("FailoverFailed", "Failover failed"),
                ("CommitPendingStatesBegin", "Failover commit pending"),
                ("Committed", "Failover committed"),
                ("", state),
            )
            if state.endswith(suffix)
        )
        now = utcnow()
        vm_arm_id = (
            f"/subscriptions/{sub}/resourceGroups/rg-workloads-weu/providers/Microsoft.Compute/virtualMachines/"
            f"{item.vm_name}"
        )
        rpo = self.estate.item_rpo_seconds(item)
        details: dict[str, Any] = {
            "instanceType": "A2A",
            "fabricObjectId": vm_arm_id,
            "primaryFabricLocation": "westeurope",
            "recoveryFabricLocation": "northeurope",
            "osType": "Windows",
            "recoveryAzureVMName": item.vm_name,
            "recoveryAzureVMSize": "Standard_D4s_v5",
            "recoveryAzureResourceGroupId": f"/subscriptions/{sub}/resourceGroups/rg-workloads-neu",
            "selectedRecoveryAzureNetworkId": f"/subscriptions/{sub}/resourceGroups/rg-network-neu/providers/"
            "Microsoft.Network/virtualNetworks/vnet-neu",
            "selectedTfoAzureNetworkId": item.test_network_id,
            "tfoAzureVMName": f"{item.vm_name}-test" if test_vm else None,
            "monitoringPercentageCompletion": None,
            "monitoringJobType": None,
            "lastHeartbeat": iso(now),
            "agentVersion": "9.62.7096.1",
            "isReplicationAgentUpdateRequired": False,
            "vmProtectionState": state,
            "vmProtectionStateDescription": description,
            "lifecycleId": str(uuid.uuid5(uuid.NAMESPACE_URL, item_id.lower())),
            "rpoInSeconds": rpo,
            "lastRpoCalculatedTime": iso(now if rpo is not None else item.last_failover_at),
        }
        props: dict[str, Any] = {
            "friendlyName": item.vm_name,
            "protectedItemType": "",  # as ASR reports a non-Hyper-V item (a public InMageRcm walkthrough)
            "protectableItemId": None,
            "recoveryServicesProviderId": None,
            "primaryFabricFriendlyName": "West Europe",
            "primaryFabricProvider": "Azure",
            "recoveryFabricFriendlyName": "North Europe",
            "recoveryFabricId": f"{vault_id}/replicationFabrics/{RECOVERY_FABRIC}",
            "primaryProtectionContainerFriendlyName": PRIMARY_CONTAINER,
            "recoveryProtectionContainerFriendlyName": RECOVERY_CONTAINER,
            "protectionState": state,
            "protectionStateDescription": description,
            "activeLocation": item.active_location,
            "testFailoverState": item.test_failover_state,
            "testFailoverStateDescription": TEST_FAILOVER_DESCRIPTIONS.get(
                item.test_failover_state, item.test_failover_state
            ),
            "allowedOperations": allowed,
            "replicationHealth": health,
            "failoverHealth": "Normal",
            "healthErrors": [
                {
                    "innerHealthErrors": [],
                    "errorSource": "ReplicationUnit",
                    "errorType": error["code"],
                    "errorLevel": error["level"],
                    "errorCategory": "Replication",
                    "errorCode": error["code"],
                    "summaryMessage": error["message"],
                    "errorMessage": error["message"],
                    "possibleCauses": error["causes"],
                    "recommendedAction": error["action"],
                    "creationTimeUtc": iso(now),
                    "recoveryProviderErrorMessage": None,
                    "entityId": item.vm_id,
                    "errorId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{item_id.lower()}/{error['code']}")),
                    "customerResolvability": "Allowed",
                }
                for error in errors
            ],
            "policyId": f"{vault_id}/replicationPolicies/{A2A_POLICY}",
            "policyFriendlyName": A2A_POLICY,
            "lastSuccessfulFailoverTime": iso(item.last_failover_at),
            "lastSuccessfulTestFailoverTime": iso(item.last_test_failover_at),
            "currentScenario": scenario,
            "failoverRecoveryPointId": f"{item_id}/recoveryPoints/{item.recovery_point_id}"
            if item.recovery_point_id
            else None,
            "providerSpecificDetails": details,
            "recoveryContainerId": f"{vault_id}/replicationFabrics/{RECOVERY_FABRIC}"
            f"/replicationProtectionContainers/{RECOVERY_CONTAINER}",
        }
        body = {
            "id": item_id,
            "name": item.vm_name,
            "type": "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/"
            "replicationProtectedItems",
            "properties": props,
        }
        if plan.provider == hyperv.HYPERV:  # a VM of an Azure Local site, replicated to Azure
            return hyperv.of(self.estate).item_json(vault_id, item, body)
        return body

    def _page_by_token(self, request: web.Request, items: list[dict[str, Any]], size: int) -> web.Response:
        """ASR paging: the server picks the page size; `nextLink` carries an opaque `skipToken`."""
        try:
            skip = int(request.query.get("skipToken", "0"))
        except ValueError:
            return _error(400, "InvalidParameterValue", f"skipToken '{request.query['skipToken']}' is not valid.")
        size = max(1, size)
        body: dict[str, Any] = {"value": items[skip : skip + size], "nextLink": None}
        if skip + size < len(items):
            query = dict(request.query)
            query["skipToken"] = str(skip + size)
            body["nextLink"] = str(request.url.with_scheme("https").with_query(query))
        return web.json_response(body)

    async def items_list(self, request: web.Request, m: dict[str, str]) -> web.Response:
        # `$filter` (e.g. by source fabric) is not simulated: every item of the vault is listed.
        with self.estate.lock:
            self.estate.refresh_jobs()
            vault_id = self._vault_id(m)
            items = [self._item_json(vault_id, p, i) for p, i in self.estate.protected_items(m["rg"], m["vault"])]
            size = self.estate.config.protected_items_page_size
        return self._page_by_token(request, items, size)

    def _check_container(self, m: dict[str, str]) -> None:
        if hyperv.of(self.estate).is_site_container(m["rg"], m["vault"], m["fabric"], m["container"]):
            return  # an Azure Local site's Hyper-V site fabric and its protection container
        if m["fabric"].lower() != PRIMARY_FABRIC:
            raise SimError(404, "FabricNotFound", f"Fabric '{m['fabric']}' was not found in vault '{m['vault']}'.")
        if m["container"].lower() != PRIMARY_CONTAINER:
            raise SimError(
                404,
                "ProtectionContainerNotFound",
                f"Protection container '{m['container']}' was not found in fabric '{m['fabric']}'.",
            )

    async def items_by_container(self, request: web.Request, m: dict[str, str]) -> web.Response:
        self._check_container(m)
        with self.estate.lock:
            self.estate.refresh_jobs()
            vault_id = self._vault_id(m)
            items = [self._item_json(vault_id, p, i) for p, i in self.estate.protected_items(m["rg"], m["vault"])]
            size = self.estate.config.protected_items_page_size
        return self._page_by_token(request, items, size)

    async def item_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        self._check_container(m)
        with self.estate.lock:
            self.estate.refresh_jobs()
            plan, item = self.estate.protected_item(m["rg"], m["vault"], m["item"])
            return web.json_response(self._item_json(self._vault_id(m), plan, item))

    async def plans_list(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.estate.lock:
            self.estate.refresh_jobs()
            plans = self.estate.plans_in_vault(m["rg"], m["vault"])
            return web.json_response({"value": [self._plan_json(self._vault_id(m), p) for p in plans]})

    async def plan_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.estate.lock:
            self.estate.refresh_jobs()
            plan = self.estate.recovery_plan(m["rg"], m["vault"], m["rp"])
            return web.json_response(self._plan_json(self._vault_id(m), plan))

    def _accepted(self, m: dict[str, str], job: Job) -> web.Response:
        base = f"{self.base_url}{self._vault_id(m)}"
        version = "2025-08-01"
        return web.Response(
            status=202,
            headers={
                "Azure-AsyncOperation": f"{base}/replicationOperationStatus/{job.name}?api-version={version}",
                "Location": f"{base}/replicationOperationResults/{job.name}?api-version={version}",
                "Retry-After": "30",
            },
        )

    async def plan_failover(self, request: web.Request, m: dict[str, str]) -> web.Response:
        planned = m["op"].lower() == "plannedfailover"
        schema = PLANNED_FAILOVER_BODY if planned else UNPLANNED_FAILOVER_BODY
        body = check_body(await json_body(request), schema, ASR_ERRORS)
        scenario = "PlannedFailover" if planned else "UnplannedFailover"
        job = self.estate.start_failover(m["rg"], m["vault"], m["rp"], scenario, body)
        return self._accepted(m, job)

    async def plan_commit(self, request: web.Request, m: dict[str, str]) -> web.Response:
        await json_body(request)  # the SDK sends none; a body, if any, must still be JSON
        job = self.estate.commit(m["rg"], m["vault"], m["rp"])
        return self._accepted(m, job)

    async def plan_test_failover(self, request: web.Request, m: dict[str, str]) -> web.Response:
        body = check_body(await json_body(request), TEST_FAILOVER_BODY, ASR_ERRORS)
        job = self.estate.start_test_failover(m["rg"], m["vault"], m["rp"], body)
        return self._accepted(m, job)

    async def plan_test_failover_cleanup(self, request: web.Request, m: dict[str, str]) -> web.Response:
        body = check_body(await json_body(request), TEST_FAILOVER_CLEANUP_BODY, ASR_ERRORS)
        job = self.estate.start_test_failover_cleanup(m["rg"], m["vault"], m["rp"], body)
        return self._accepted(m, job)

    async def plan_reprotect(self, request: web.Request, m: dict[str, str]) -> web.Response:
        await json_body(request)  # the SDK sends none; a body, if any, must still be JSON
        job = self.estate.start_reprotect(m["rg"], m["vault"], m["rp"])
        return self._accepted(m, job)

    @staticmethod
    def _job_error(job: Job) -> dict[str, str]:
        """A failed job's first error as ARM's `{code, message}`."""
        details = (job.errors[0] if job.errors else {}).get("serviceErrorDetails") or {}
        return {"code": details.get("code") or "OperationFailed", "message": details.get("message") or job.state}

    async def operation_status(self, request: web.Request, m: dict[str, str]) -> web.Response:
        """ARM's asynchronous operation status (`Azure-AsyncOperation`): InProgress, then Succeeded or Failed
        with `error`."""
        job = self.estate.job(m["rg"], m["vault"], m["job"])
        with self.estate.lock:
            body: dict[str, Any] = {
                "id": f"{self._vault_id(m)}/replicationOperationStatus/{job.name}",
                "name": job.name,
                "status": job.state,
                "startTime": iso(job.started_at),
                "endTime": iso(job.ended_at),
            }
            if job.state == "Failed":
                body["error"] = self._job_error(job)
        return web.json_response(body)

    async def operation_result(self, request: web.Request, m: dict[str, str]) -> web.Response:
        """The 202's `Location`: 202 (same headers) while the job runs, then the recovery plan it acted on (the
        200 body of the operation's REST example), or the job's error."""
        job = self.estate.job(m["rg"], m["vault"], m["job"])
        with self.estate.lock:
            if job.state == "InProgress":
                return self._accepted(m, job)
            if job.state == "Failed":
                error = self._job_error(job)
                return _error(400, error["code"], error["message"])
            plan = self.estate.recovery_plan(m["rg"], m["vault"], job.plan_name)
            return web.json_response(self._plan_json(self._vault_id(m), plan))

    async def jobs_list(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.estate.lock:
            self.estate.refresh_jobs()
            jobs = [
                self._job_json(self._vault_id(m), j)
                for j in self.estate.jobs.values()
                if j.resource_group == m["rg"].lower() and j.vault == m["vault"].lower()
            ]
        return web.json_response({"value": jobs})

    async def job_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        job = self.estate.job(m["rg"], m["vault"], m["job"])
        with self.estate.lock:
            return web.json_response(self._job_json(self._vault_id(m), job))

    # ---- DNS ------------------------------------------------------------------------------
    def _record_json(self, m: dict[str, str], record: RecordSet) -> dict[str, Any]:
        props: dict[str, Any] = {
            "TTL": record.ttl,
            "fqdn": f"{record.name}.{record.zone}.",
            "provisioningState": "Succeeded",
            "metadata": dict(record.metadata),
        }
        if record.record_type == "CNAME":
            props["CNAMERecord"] = {"cname": record.values[0]}
        else:
            props["ARecords"] = [{"ipv4Address": v} for v in record.values]
        return {
            "id": f"/subscriptions/{m['sub']}/resourceGroups/{m['rg']}/providers/Microsoft.Network/dnszones/"
            f"{record.zone}/{record.record_type}/{record.name}",
            "name": record.name,
            "type": f"Microsoft.Network/dnszones/{record.record_type}",
            "etag": record.etag,
            "properties": props,
        }

    async def record_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.estate.lock:
            record = self.estate.record_set(m["rg"], m["zone"], m["type"], m["name"])
            return web.json_response(self._record_json(m, record))

    async def record_put(self, request: web.Request, m: dict[str, str]) -> web.Response:
        body = check_body(await json_body(request), RECORD_SET_BODY, DNS_ERRORS)
        record, created = self.estate.put_record_set(
            m["rg"], m["zone"], m["type"], m["name"], body, request.headers.get("If-Match")
        )
        with self.estate.lock:
            return web.json_response(self._record_json(m, record), status=201 if created else 200)

    # ---- Event Grid and Teams -------------------------------------------------------------
    async def eventgrid_publish(self, request: web.Request, m: dict[str, str]) -> web.Response:
        key = request.headers.get("aeg-sas-key")
        bearer = request.headers.get("Authorization", "").startswith("Bearer ")
        if key != self.estate.config.eventgrid_key and not bearer:
            return _error(401, "Unauthorized", "The request authorization key is not authorized for this topic.")
        if not request.content_type.startswith("application/cloudevents-batch+json"):
            return _error(400, "BadRequest", f"Content type {request.content_type} is not a CloudEvents batch.")
        try:
            events = json.loads(await request.read())
        except ValueError as err:
            return _error(400, "BadRequest", f"Body is not JSON: {err}")
        if not isinstance(events, list):
            return _error(400, "BadRequest", "A CloudEvents batch must be a JSON array.")
        for index, event in enumerate(events):
            missing = [f for f in ("id", "source", "type", "specversion") if not event.get(f)]
            if missing:
                return _error(400, "BadRequest", f"events[{index}] is missing required field(s) {missing}.")
            if event["specversion"] != "1.0":
                return _error(400, "BadRequest", f"events[{index}].specversion must be '1.0'.")
            if len(json.dumps(event)) > 64 * 1024:
                return _error(413, "RequestEntityTooLarge", f"events[{index}] is larger than 64 KB.")
        self.estate.add_events(events)
        return web.Response(status=200)

    async def teams_post(self, request: web.Request, m: dict[str, str]) -> web.Response:
        if not request.query.get("sig"):
            return _error(401, "Unauthorized", "The workflow URL signature (sig) is missing.")
        try:
            message = json.loads(await request.read())
        except ValueError as err:
            return _error(400, "InvalidRequestContent", f"Body is not JSON: {err}")
        if not isinstance(message, dict) or message.get("type") != "message":
            return _error(400, "InvalidRequestContent", "Expected {'type': 'message', 'attachments': [...]}.")
        self.estate.add_teams_message(m["workflow"], message)
        return web.Response(status=202)

    async def sim_teams(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.estate.lock:
            return web.json_response(list(self.estate.teams_messages))

    async def sim_events(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.estate.lock:
            return web.json_response(list(self.estate.events))

    async def sim_state(self, request: web.Request, m: dict[str, str]) -> web.Response:
        return web.json_response(self.estate.snapshot())


class Simulator:
    """Runs `SimulatorApp` over HTTPS on 127.0.0.1 in a background thread with its own event loop.

    `ca_bundle` is the PEM file of the throwaway CA that clients pass as `connection_verify`.
    """

    def __init__(self, estate: Estate, host: str = "127.0.0.1", port: int = 0) -> None:
        self.estate = estate
        self.app = SimulatorApp(estate)
        self.host = host
        self.port = port
        self._dir = tempfile.TemporaryDirectory(prefix="failover-sim-")
        self.ca_bundle = str(Path(self._dir.name) / "simulator-ca.pem")
        self._server: BackgroundServer | None = None

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def _ssl_context(self) -> ssl.SSLContext:
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        ca.cert_pem.write_to_path(self.ca_bundle)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        return context

    def start(self) -> Simulator:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.app.dispatch)
        server = BackgroundServer(app, self.host, self.port, ssl_context=self._ssl_context(), name="azure-simulator")
        self._server = server.start()
        self.port = server.port
        self.app.base_url = self.url
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._dir.cleanup()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
