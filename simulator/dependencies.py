"""The runbook's other Azure dependencies: SQL failover groups, a storage account failover (FSLogix profiles),
standby VMs, and an Azure Automation webhook whose runbook calls the service back when it is done.

State lives here, one `Dependencies` per `Estate` (`estate.dependencies`, `of(estate)`), guarded by the estate's
lock; `add_routes` registers the HTTPS routes on the simulator's route table and `seed_demo` adds the demo resources.
Operations are the toolkit's (`simulator.arm.OperationBook`): durations are simulated seconds divided by the estate's
`time_scale` once, when an operation starts, and an operation finishes on the first read after it is due. Four
resource providers share this module (Microsoft.Sql, Microsoft.Storage, Microsoft.Compute, Azure Automation): to be
split into one module each under `simulator/providers/` (docs/simulator.md, "Layout").

Shapes follow Microsoft's REST examples (SQL 2023-08-01 `FailoverGroupFailover`, Storage 2025-06-01
`StorageAccountGetProperties` / `StorageAccountFailover`, Compute 2025-04-01 `VirtualMachine_Get_InstanceView` /
`VirtualMachine_Start`). LROs answer 202 with `Azure-AsyncOperation` and/or `Location` and `Retry-After`, as each
service does. Error codes Microsoft does not document are the simulator's own (docs/simulator.md lists them).
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
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
    error_response,
    iso,
    json_body,
    locations,
    utcnow,
)
from simulator.providers.desktop_virtualization import DesktopVirtualization, HostPool, SessionHost

_SERVER = RG + r"/microsoft\.sql/servers/(?P<server>[^/]+)"
_FG = _SERVER + r"/failovergroups/(?P<fg>[^/]+)"
_ACCOUNT = RG + r"/microsoft\.storage/storageaccounts/(?P<account>[^/]+)"
_VM = RG + r"/microsoft\.compute/virtualmachines/(?P<vm>[^/]+)"

API_VERSIONS = {"microsoft.sql": "2023-08-01", "microsoft.storage": "2025-06-01", "microsoft.compute": "2025-04-01"}
REGION_NAMES = {"westeurope": "West Europe", "northeurope": "North Europe"}
RETRY_AFTER_SECONDS = {"microsoft.sql": 10, "microsoft.storage": 17, "microsoft.compute": 10}  # simulated


def _region_name(location: str) -> str:
    return REGION_NAMES.get(location, location)


# ---- the demo estate (names) -----------------------------------------------------------------------
DEMO_SQL_PRIMARY_RG = "rg-data-weu"
DEMO_SQL_PRIMARY = "sql-contoso-weu"
DEMO_SQL_SECONDARY_RG = "rg-data-neu"
DEMO_SQL_SECONDARY = "sql-contoso-neu"
DEMO_FAILOVER_GROUP = "fg-contoso"
DEMO_SQL_DATABASES = ("sqldb-contoso-app", "sqldb-contoso-identity")
DEMO_STORAGE_RG = "rg-avd-weu"
DEMO_STORAGE_ACCOUNT = "stcontosofslogix"
DEMO_STANDBY_RG = "rg-avd-neu"
DEMO_STANDBY_HOST_POOL = "hp-neu-pooled"
DEMO_STANDBY_VMS = tuple(f"vm-avd-neu-{i}" for i in range(4))
DEMO_SESSION_HOST_DOMAIN = "contoso.local"
DEMO_WEBHOOK = "hyperv-replica"


@dataclass
class DependencyConfig:
    """Knobs, in simulated seconds unless said otherwise. Change them on `of(estate).config`."""

    sql_failover_seconds: float = 60.0  # a friendly (planned) failover group failover
    sql_forced_failover_seconds: float = 20.0  # forceFailoverAllowDataLoss
    storage_failover_seconds: float = 900.0  # a storage account failover (Azure: typically under an hour)
    storage_sync_lag_seconds: float = 240.0  # geoReplicationStats.lastSyncTime lags the primary by this much
    vm_start_seconds: float = 90.0
    vm_deallocate_seconds: float = 60.0
    # Resource name (failover group, storage account or VM) -> error text: its next operation ends Failed.
    failing: dict[str, str] = field(default_factory=dict)


@dataclass
class SqlServer:
    resource_group: str
    name: str
    location: str


@dataclass
class FailoverGroup:
    """One failover group between two servers. Azure shows it under each server, from that server's side."""

    name: str
    servers: list[SqlServer]
    primary: str  # the primary server's name
    databases: list[str]
    failover_policy: str = "Manual"
    grace_period_minutes: int | None = None  # with failover_policy Automatic
    replication_state: str = "CATCH_UP"
    operation: Operation | None = None
    failover_calls: int = 0  # POST failover + forceFailoverAllowDataLoss, accepted or not

    def server(self, name: str) -> SqlServer | None:
        return next((s for s in self.servers if s.name.lower() == name.lower()), None)

    def partner(self, name: str) -> SqlServer:
        return next(s for s in self.servers if s.name.lower() != name.lower())


@dataclass
class StorageAccount:
    resource_group: str
    name: str
    primary_location: str
    secondary_location: str | None
    sku: str = "Standard_GZRS"
    kind: str = "StorageV2"
    created_at: datetime = field(default_factory=utcnow)
    operation: Operation | None = None
    last_failover_at: datetime | None = None
    failover_calls: int = 0


@dataclass
class VirtualMachine:
    resource_group: str
    name: str
    location: str
    size: str = "Standard_D8s_v5"
    power_state: str = "deallocated"  # running | starting | deallocating | deallocated | stopped
    vm_id: str = ""
    operation: Operation | None = None
    provisioning_error: dict[str, str] | None = None  # the last failed operation, as an instance view status
    start_calls: int = 0
    session_host: tuple[str, str, str] | None = None  # (resource group, host pool, session host) it serves


@dataclass
class Webhook:
    """An Azure Automation webhook: its runbook calls back `callback_url` after `delay_seconds`."""

    name: str
    token: str
    delay_seconds: float = 120.0
    fail: bool = False  # the runbook reports {"status": "Failed"}
    call_back: bool = True  # False: the runbook never calls back (the service's timeout must act)
    output: str = "Hyper-V Replica failover of the Azure Local site completed."


@dataclass
class WebhookCall:
    webhook: str
    job_id: str
    received_at: datetime
    body: Any
    duplicate: bool
    callback: dict[str, Any] = field(default_factory=dict)  # what happened to the callback


class Dependencies(OperationBook):
    """SQL, storage, VMs and webhooks of one estate. Every method takes the estate's lock."""

    def __init__(self, cloud: Cloud, config: DependencyConfig | None, avd: DesktopVirtualization) -> None:
        super().__init__(cloud)
        self.config = config or DependencyConfig()
        self.avd = avd  # a standby VM's session host follows its power state
        self.servers: dict[tuple[str, str], SqlServer] = {}
        self.failover_groups: dict[str, FailoverGroup] = {}
        self.accounts: dict[tuple[str, str], StorageAccount] = {}
        self.vms: dict[tuple[str, str], VirtualMachine] = {}
        self.webhooks: dict[str, Webhook] = {}
        self.webhook_calls: list[WebhookCall] = []
        self.outages: dict[str, datetime] = {}  # region -> since when it is unreachable
        self._runbook_jobs: dict[tuple[str, str, str], str] = {}  # (webhook, instance, step) -> job id

    # ---- regions --------------------------------------------------------------------------
    def region_down(self, region: str) -> None:
        """Declare a region unreachable: a storage primary there reports `unavailable` (its lastSyncTime stops),
        a planned storage failover is refused, and a friendly SQL failover from a primary there fails."""
        with self.lock:
            self.outages.setdefault(region.lower(), utcnow())

    def region_up(self, region: str) -> None:
        with self.lock:
            self.outages.pop(region.lower(), None)

    def _reachable(self, region: str | None) -> bool:
        return region is None or region.lower() not in self.outages

    # ---- operations (simulator.operations.OperationBook: start, refresh, look up) ----------------
    def _finish(self, op: Operation) -> None:
        failure = op.fail_with
        if failure is None and op.kind == "sql.failover":
            group: FailoverGroup = op.target
            primary = group.server(group.primary)
            if primary is not None and not self._reachable(primary.location):
                failure = (
                    f"The friendly failover of failover group '{group.name}' could not reach the primary server "
                    f"'{primary.name}'. Use forceFailoverAllowDataLoss."
                )
        if failure:
            op.status = "Failed"
            op.error = {"code": "OperationFailed", "message": failure}
        else:
            op.status = "Succeeded"
        if op.kind.startswith("sql."):
            group = op.target
            group.operation = None
            group.replication_state = "CATCH_UP"
            if op.status == "Succeeded" and op.server:
                old = group.server(group.primary)
                group.primary = op.server
                if op.kind == "sql.forcedfailover" and old is not None and not self._reachable(old.location):
                    group.replication_state = "SUSPENDED"  # the old primary cannot be reached to reseed
        elif op.kind.startswith("storage."):
            account: StorageAccount = op.target
            account.operation = None
            if op.status == "Succeeded":
                old_primary = account.primary_location
                account.primary_location = account.secondary_location or account.primary_location
                account.last_failover_at = op.due_at
                if op.kind == "storage.plannedfailover":
                    account.secondary_location = old_primary
                    account.sku = _post_planned_sku(account.sku)
                else:  # an unplanned failover leaves a locally redundant account in the new primary region
                    account.secondary_location = None
                    account.sku = "Standard_LRS"
        elif op.kind.startswith("vm."):
            vm: VirtualMachine = op.target
            vm.operation = None
            if op.status == "Succeeded":
                vm.power_state = "running" if op.kind == "vm.start" else "deallocated"
                vm.provisioning_error = None
            else:
                vm.power_state = "deallocated" if op.kind == "vm.start" else "running"
                code = "AllocationFailed" if op.kind == "vm.start" else "OperationFailed"
                vm.provisioning_error = {"code": code, "message": failure or ""}
            self._sync_session_host(vm)

    def _sync_session_host(self, vm: VirtualMachine) -> None:
        """A session host is Available while its VM runs, Unavailable otherwise (as AVD's agent reports)."""
        if vm.session_host is None:
            return
        rg, pool, name = vm.session_host
        try:
            host = self.avd.session_host(rg, pool, name)
        except SimError:
            return
        host.status = "Available" if vm.power_state == "running" else "Unavailable"

    # ---- SQL ------------------------------------------------------------------------------
    def sql_server(self, rg: str, name: str) -> SqlServer:
        server = self.servers.get((rg.lower(), name.lower()))
        if server is None:
            raise SimError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.Sql/servers/{name}' under resource group '{rg}' was not found.",
            )
        return server

    def failover_group(self, rg: str, server: str, name: str) -> tuple[FailoverGroup, SqlServer]:
        with self.lock:
            self.refresh()
            sql_server = self.sql_server(rg, server)
            group = self.failover_groups.get(name.lower())
            if group is None or group.server(sql_server.name) is None:
                raise SimError(
                    404,
                    "ResourceNotFound",
                    f"The requested resource of type 'Microsoft.Sql/servers/failoverGroups' with name '{name}' "
                    "was not found.",
                )
            return group, sql_server

    def groups_of(self, rg: str, server: str) -> list[FailoverGroup]:
        with self.lock:
            self.refresh()
            sql_server = self.sql_server(rg, server)
            return [g for g in self.failover_groups.values() if g.server(sql_server.name) is not None]

    def sql_failover(self, rg: str, server: str, name: str, forced: bool) -> Operation:
        """Fail the group over to `server`. Azure wants the call on the secondary: on the primary it answers 400."""
        with self.lock:
            group, sql_server = self.failover_group(rg, server, name)
            group.failover_calls += 1
            if group.operation is not None:
                raise SimError(
                    409,
                    "FailoverGroupOperationInProgress",
                    f"A failover of failover group '{group.name}' to server '{group.operation.server}' "
                    "is already in progress.",
                )
            if group.primary.lower() == sql_server.name.lower():
                raise SimError(
                    400,
                    "FailoverGroupFailoverRequestOnPrimary",
                    "The failover request should be initiated on the secondary server of failover group.",
                )
            seconds = self.config.sql_forced_failover_seconds if forced else self.config.sql_failover_seconds
            kind = "sql.forcedfailover" if forced else "sql.failover"
            op = self._start(
                kind, "microsoft.sql", sql_server.location, group, seconds, self.config.failing.get(group.name)
            )
            op.server = sql_server.name
            group.operation = op
            group.replication_state = "PENDING"
            return op

    # ---- Storage --------------------------------------------------------------------------
    def account(self, rg: str, name: str) -> StorageAccount:
        with self.lock:
            self.refresh()
            account = self.accounts.get((rg.lower(), name.lower()))
            if account is None:
                raise SimError(
                    404,
                    "ResourceNotFound",
                    f"The Resource 'Microsoft.Storage/storageAccounts/{name}' under resource group '{rg}' "
                    "was not found.",
                )
            return account

    def last_sync_time(self, account: StorageAccount) -> datetime | None:
        """Writes before this time are in the secondary; a primary that went down stops the clock."""
        if account.secondary_location is None:
            return None
        now = self.outages.get(account.primary_location.lower(), utcnow())
        return now - timedelta(seconds=self.config.storage_sync_lag_seconds)

    def storage_failover(self, rg: str, name: str, planned: bool) -> Operation:
        with self.lock:
            account = self.account(rg, name)
            account.failover_calls += 1
            if account.operation is not None:
                raise SimError(
                    409,
                    "FailoverInProgress",
                    f"A failover of storage account '{account.name}' is already in progress.",
                )
            if account.secondary_location is None:
                raise SimError(
                    400,
                    "FailoverNotSupported",
                    f"Storage account '{account.name}' ({account.sku}) has no secondary location to fail over to.",
                )
            if planned and not (
                self._reachable(account.primary_location) and self._reachable(account.secondary_location)
            ):
                raise SimError(
                    400,
                    "PlannedFailoverNotSupported",
                    "A planned failover needs both the primary and the secondary endpoints to be available.",
                )
            kind = "storage.plannedfailover" if planned else "storage.failover"
            op = self._start(
                kind,
                "microsoft.storage",
                account.primary_location,
                account,
                self.config.storage_failover_seconds,
                self.config.failing.get(account.name),
            )
            account.operation = op
            return op

    # ---- Compute --------------------------------------------------------------------------
    def vm(self, rg: str, name: str) -> VirtualMachine:
        with self.lock:
            self.refresh()
            vm = self.vms.get((rg.lower(), name.lower()))
            if vm is None:
                raise SimError(
                    404,
                    "ResourceNotFound",
                    f"The Resource 'Microsoft.Compute/virtualMachines/{name}' under resource group '{rg}' "
                    "was not found.",
                )
            return vm

    def vm_power(self, rg: str, name: str, start: bool) -> Operation:
        """Start or deallocate. A VM already there (or on its way) gets an operation that is already done
        (or the running one), as Azure accepts a repeated start."""
        with self.lock:
            vm = self.vm(rg, name)
            if start:
                vm.start_calls += 1
            kind = "vm.start" if start else "vm.deallocate"
            if vm.operation is not None:
                if vm.operation.kind == kind:
                    return vm.operation
                raise SimError(
                    409,
                    "OperationNotAllowed",
                    f"Operation '{kind.split('.')[1]}' is not allowed on VM '{vm.name}' since another operation "
                    "is in progress.",
                )
            done = vm.power_state == ("running" if start else "deallocated")
            seconds = 0.0 if done else (self.config.vm_start_seconds if start else self.config.vm_deallocate_seconds)
            op = self._start(kind, "microsoft.compute", vm.location, vm, seconds, self.config.failing.get(vm.name))
            if done:
                op.fail_with = None
                op.status = "Succeeded"
                op.ended_at = op.started_at
                return op
            vm.operation = op
            vm.power_state = "starting" if start else "deallocating"
            return op

    # ---- Automation webhooks --------------------------------------------------------------
    def webhook_call(self, name: str, token: str | None, body: Any) -> WebhookCall:
        """Record a call; the simulated runbook dedupes on (instance_id, step) and calls back once."""
        with self.lock:
            hook = self.webhooks.get(name.lower())
            if hook is None or not token or not secrets.compare_digest(token, hook.token):
                raise SimError(404, "NotFound", "The webhook was not found, or its token is not valid.")
            key = None
            if isinstance(body, dict) and body.get("instance_id") and body.get("step"):
                key = (hook.name, str(body["instance_id"]), str(body["step"]))
            existing = self._runbook_jobs.get(key) if key else None
            call = WebhookCall(
                webhook=hook.name,
                job_id=existing or str(uuid.uuid4()),
                received_at=utcnow(),
                body=body,
                duplicate=existing is not None,
            )
            self.webhook_calls.append(call)
            if existing is not None:
                call.callback = {"sent": False, "reason": "duplicate call: the runbook job already exists"}
                return call
            if key:
                self._runbook_jobs[key] = call.job_id
            url = body.get("callback_url") if isinstance(body, dict) else None
            if not hook.call_back:
                call.callback = {"sent": False, "reason": "the webhook is set never to call back"}
            elif not isinstance(url, str) or not _loopback(url):
                call.callback = {"sent": False, "reason": "no loopback callback_url in the body"}
            else:
                call.callback = {"sent": False, "reason": "pending"}
                result = {"status": "Failed" if hook.fail else "Succeeded", "output": hook.output}
                if hook.fail:
                    result["output"] = f"Runbook for webhook '{hook.name}' failed (simulated)."
                delay = hook.delay_seconds / self.cloud.time_scale
                timer = threading.Timer(delay, self._call_back, args=(call, url, result))
                timer.daemon = True
                timer.start()
            return call

    def _call_back(self, call: WebhookCall, url: str, result: dict[str, str]) -> None:
        try:
            answer = requests.post(url, json=result, timeout=10)
            outcome: dict[str, Any] = {"sent": True, "status": answer.status_code}
        except requests.RequestException as err:
            outcome = {"sent": False, "reason": f"callback failed: {type(err).__name__}"}
        with self.lock:
            call.callback = {**outcome, "result": result["status"], "at": iso(utcnow())}

    # ---- the demo estate ------------------------------------------------------------------
    def seed_demo(self, primary: str = PRIMARY_REGION, recovery: str = RECOVERY_REGION) -> Dependencies:
        """SQL servers and failover group, the FSLogix storage account, the standby AVD host pool in the recovery
        region (session hosts on deallocated VMs, closed to new sessions) and the Hyper-V Replica webhook."""
        with self.lock:
            weu = SqlServer(DEMO_SQL_PRIMARY_RG, DEMO_SQL_PRIMARY, primary)
            neu = SqlServer(DEMO_SQL_SECONDARY_RG, DEMO_SQL_SECONDARY, recovery)
            for server in (weu, neu):
                self.servers[(server.resource_group, server.name)] = server
            self.failover_groups[DEMO_FAILOVER_GROUP] = FailoverGroup(
                DEMO_FAILOVER_GROUP, [weu, neu], weu.name, list(DEMO_SQL_DATABASES)
            )
            self.accounts[(DEMO_STORAGE_RG, DEMO_STORAGE_ACCOUNT)] = StorageAccount(
                DEMO_STORAGE_RG, DEMO_STORAGE_ACCOUNT, primary, recovery
            )
            pool = self.avd.host_pools.get((DEMO_STANDBY_RG, DEMO_STANDBY_HOST_POOL))
            if pool is None:
                pool = self.avd.host_pools[(DEMO_STANDBY_RG, DEMO_STANDBY_HOST_POOL)] = HostPool(
                    DEMO_STANDBY_RG, DEMO_STANDBY_HOST_POOL, recovery
                )
            for vm_name in DEMO_STANDBY_VMS:
                host_name = f"{vm_name}.{DEMO_SESSION_HOST_DOMAIN}"
                pool.session_hosts[host_name] = SessionHost(
                    name=host_name, allow_new_session=False, status="Unavailable"
                )
                self.vms[(DEMO_STANDBY_RG, vm_name)] = VirtualMachine(
                    DEMO_STANDBY_RG,
                    vm_name,
                    recovery,
                    vm_id=str(uuid.uuid5(uuid.NAMESPACE_DNS, vm_name)),
                    session_host=(DEMO_STANDBY_RG, DEMO_STANDBY_HOST_POOL, host_name),
                )
            self.webhooks[DEMO_WEBHOOK] = Webhook(DEMO_WEBHOOK, secrets.token_urlsafe(24))
        return self

    # ---- inspection -----------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            self.refresh()
            return {
                "failover_groups": [
                    {
                        "name": g.name,
                        "primary": g.primary,
                        "servers": [s.name for s in g.servers],
                        "replication_state": g.replication_state,
                        "failover_calls": g.failover_calls,
                        "in_progress": g.operation is not None,
                    }
                    for g in self.failover_groups.values()
                ],
                "storage_accounts": [
                    {
                        "name": a.name,
                        "sku": a.sku,
                        "primary_location": a.primary_location,
                        "secondary_location": a.secondary_location,
                        "failover_calls": a.failover_calls,
                        "failover_in_progress": a.operation is not None,
                        "last_failover_at": iso(a.last_failover_at),
                    }
                    for a in self.accounts.values()
                ],
                "virtual_machines": [
                    {"name": v.name, "power_state": v.power_state, "start_calls": v.start_calls}
                    for v in self.vms.values()
                ],
                "webhook_calls": [self.call_json(c) for c in self.webhook_calls],
                "outages": {region: iso(at) for region, at in self.outages.items()},
            }

    def call_json(self, call: WebhookCall) -> dict[str, Any]:
        return {
            "webhook": call.webhook,
            "job_id": call.job_id,
            "received_at": iso(call.received_at),
            "body": call.body,
            "duplicate": call.duplicate,
            "callback": dict(call.callback),
        }


def _post_planned_sku(sku: str) -> str:
    """After a planned failover the account stays geo-redundant; a zone-redundant primary becomes GRS."""
    return {"Standard_GZRS": "Standard_GRS", "Standard_RAGZRS": "Standard_RAGRS"}.get(sku, sku)


def _loopback(url: str) -> bool:
    """The simulator only calls back addresses on this machine."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HasDependencies(Protocol):
    dependencies: Dependencies


def of(estate: HasDependencies) -> Dependencies:
    """The dependencies of an estate (`estate.dependencies`)."""
    return estate.dependencies


def webhook_url(base_url: str, estate: HasDependencies, name: str) -> str:
    """The URL (with its secret token) a caller POSTs to, as Azure Automation shows it once at creation."""
    hook = of(estate).webhooks[name.lower()]
    return f"{base_url}/automation/webhooks/{hook.name}?token={hook.token}"


# ---- HTTPS routes ----------------------------------------------------------------------------
class Routes:
    """The handlers, over one estate's `Dependencies`; LRO headers point back at `table.base_url`."""

    def __init__(self, table: RouteTable, deps: Dependencies) -> None:
        self.table = table
        self.deps = deps

    # -- LRO plumbing
    def _op_urls(self, sub: str, op: Operation) -> dict[str, str]:
        base = (
            f"{self.table.base_url}/subscriptions/{sub}/providers/{_provider_name(op.provider)}/locations/{op.location}"
        )
        version = API_VERSIONS[op.provider]
        if op.provider == "microsoft.sql":
            return {
                "Azure-AsyncOperation": f"{base}/failoverGroupAzureAsyncOperation/{op.id}?api-version={version}",
                "Location": f"{base}/failoverGroupOperationResults/{op.id}?api-version={version}",
            }
        if op.provider == "microsoft.storage":  # as in StorageAccountFailover.json: Location only
            return {"Location": f"{base}/asyncoperations/{op.id}?monitor=true&api-version={version}"}
        return {
            "Azure-AsyncOperation": f"{base}/operations/{op.id}?api-version={version}",
            "Location": f"{base}/operations/{op.id}?monitor=true&api-version={version}",
        }

    def _accepted(self, sub: str, op: Operation) -> web.Response:
        """202 and where to watch. Retry-After is in simulated seconds, scaled like every duration (0 at high
        time scales: the SDK then polls at its own `polling_interval`)."""
        retry_after = int(RETRY_AFTER_SECONDS[op.provider] / self.deps.cloud.time_scale)
        urls = self._op_urls(sub, op)
        return accepted(
            async_operation=urls.get("Azure-AsyncOperation"), location=urls.get("Location"), retry_after=retry_after
        )

    def _status_json(self, op: Operation) -> dict[str, Any]:
        body: dict[str, Any] = {"name": op.id, "status": op.status, "startTime": iso(op.started_at)}
        if op.ended_at:
            body["endTime"] = iso(op.ended_at)
        if op.error:
            body["error"] = dict(op.error)
        return body

    async def operation_status(self, request: web.Request, m: dict[str, str]) -> web.Response:
        """Azure-AsyncOperation: the status body. `?monitor=true` (Location): 202 while running, then 200."""
        op = self.deps.operation(m["op"], m["provider"])
        if "monitor" not in request.query:
            with self.deps.lock:
                return web.json_response(self._status_json(op))
        return self._location_answer(m["sub"], op, body=None)

    def _location_answer(self, sub: str, op: Operation, body: dict[str, Any] | None) -> web.Response:
        if op.status == "InProgress":
            return self._accepted(sub, op)
        if op.status == "Failed":
            error = op.error or {"code": "OperationFailed", "message": "The operation failed."}
            return error_response(400, error["code"], error["message"])
        return web.json_response(body) if body is not None else web.Response(status=200)

    # -- SQL
    def _server_id(self, sub: str, server: SqlServer) -> str:
        return (
            f"/subscriptions/{sub}/resourceGroups/{server.resource_group}/providers/Microsoft.Sql/servers/{server.name}"
        )

    def _group_json(self, sub: str, group: FailoverGroup, server: SqlServer) -> dict[str, Any]:
        server_id = self._server_id(sub, server)
        partner = group.partner(server.name)

        def role(s: SqlServer) -> str:
            return "Primary" if s.name.lower() == group.primary.lower() else "Secondary"

        read_write: dict[str, Any] = {"failoverPolicy": group.failover_policy}
        if group.failover_policy == "Automatic":
            read_write["failoverWithDataLossGracePeriodMinutes"] = group.grace_period_minutes or 60
        return {
            "id": f"{server_id}/failoverGroups/{group.name}",
            "name": group.name,
            "type": "Microsoft.Sql/servers/failoverGroups",
            "location": _region_name(server.location),
            "properties": {
                "readWriteEndpoint": read_write,
                "readOnlyEndpoint": {"failoverPolicy": "Disabled"},
                "replicationRole": role(server),
                "replicationState": group.replication_state,
                "partnerServers": [
                    {
                        "id": self._server_id(sub, partner),
                        "location": _region_name(partner.location),
                        "replicationRole": role(partner),
                    }
                ],
                "databases": [f"{server_id}/databases/{db}" for db in group.databases],
            },
        }

    async def sql_server_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.deps.lock:
            server = self.deps.sql_server(m["rg"], m["server"])
            return web.json_response(
                {
                    "id": self._server_id(m["sub"], server),
                    "name": server.name,
                    "type": "Microsoft.Sql/servers",
                    "location": server.location,
                    "kind": "v12.0",
                    "properties": {
                        "administratorLogin": "sqladmin",
                        "version": "12.0",
                        "state": "Ready",
                        "fullyQualifiedDomainName": f"{server.name}.database.windows.net",
                        "publicNetworkAccess": "Disabled",
                    },
                }
            )

    async def sql_groups_list(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.deps.lock:
            groups = self.deps.groups_of(m["rg"], m["server"])
            server = self.deps.sql_server(m["rg"], m["server"])
            return web.json_response({"value": [self._group_json(m["sub"], g, server) for g in groups]})

    async def sql_group_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.deps.lock:
            group, server = self.deps.failover_group(m["rg"], m["server"], m["fg"])
            return web.json_response(self._group_json(m["sub"], group, server))

    async def sql_group_failover(self, request: web.Request, m: dict[str, str]) -> web.Response:
        await json_body(request)  # the operation takes no body; one, if sent, must still be JSON
        forced = m["op"].lower() == "forcefailoverallowdataloss"
        op = self.deps.sql_failover(m["rg"], m["server"], m["fg"], forced)
        return self._accepted(m["sub"], op)

    async def sql_operation_result(self, request: web.Request, m: dict[str, str]) -> web.Response:
        """The Location of a failover group failover: 202 while running, then the group from the new primary."""
        op = self.deps.operation(m["op"], "microsoft.sql")
        with self.deps.lock:
            group: FailoverGroup = op.target
            server = group.server(op.server or group.primary) or group.servers[0]
            return self._location_answer(m["sub"], op, self._group_json(m["sub"], group, server))

    # -- Storage
    def _account_json(self, sub: str, account: StorageAccount, expand: str) -> dict[str, Any]:
        name = account.name
        created = iso(account.created_at)

        def endpoints(suffix: str = "") -> dict[str, str]:
            return {s: f"https://{name}{suffix}.{s}.core.windows.net/" for s in ("blob", "dfs", "file", "web")}

        primary_endpoints: dict[str, Any] = {
            **endpoints(),
            "queue": f"https://{name}.queue.core.windows.net/",
            "table": f"https://{name}.table.core.windows.net/",
            "internetEndpoints": endpoints("-internetrouting"),
            "microsoftEndpoints": {
                **endpoints("-microsoftrouting"),
                "queue": f"https://{name}-microsoftrouting.queue.core.windows.net/",
                "table": f"https://{name}-microsoftrouting.table.core.windows.net/",
            },
        }
        service = {"enabled": True, "keyType": "Account", "lastEnabledTime": created}
        props: dict[str, Any] = {
            "accountMigrationInProgress": False,
            "creationTime": created,
            "encryption": {"keySource": "Microsoft.Storage", "services": {"blob": service, "file": dict(service)}},
            "isHnsEnabled": False,
            "isSkuConversionBlocked": False,
            "keyCreationTime": {"key1": created, "key2": created},
            "networkAcls": {
                "bypass": "AzureServices",
                "defaultAction": "Deny",
                "ipRules": [],
                "resourceAccessRules": [],
                "virtualNetworkRules": [],
            },
            "primaryEndpoints": primary_endpoints,
            "primaryLocation": account.primary_location,
            "provisioningState": "Succeeded",
            "routingPreference": {
                "publishInternetEndpoints": False,
                "publishMicrosoftEndpoints": False,
                "routingChoice": "MicrosoftRouting",
            },
            "statusOfPrimary": "available" if self.deps._reachable(account.primary_location) else "unavailable",
            "supportsHttpsTrafficOnly": True,
            "geoPriorityReplicationStatus": {"isBlobEnabled": False},
        }
        geo = account.secondary_location is not None
        if geo:
            props["secondaryLocation"] = account.secondary_location
            props["statusOfSecondary"] = (
                "available" if self.deps._reachable(account.secondary_location) else ("unavailable")
            )
        if account.last_failover_at:
            props["lastGeoFailoverTime"] = iso(account.last_failover_at)
        if account.operation is not None:
            props["failoverInProgress"] = True  # Azure: true during a failover, otherwise absent
        if geo and expand.lower() == "georeplicationstats":
            both = self.deps._reachable(account.primary_location) and self.deps._reachable(account.secondary_location)
            props["geoReplicationStats"] = {
                "status": "Live" if self.deps._reachable(account.secondary_location) else "Unavailable",
                "lastSyncTime": _iso_seconds(self.deps.last_sync_time(account)),
                "canFailover": account.operation is None,
                "canPlannedFailover": account.operation is None and both,
                "postFailoverRedundancy": "Standard_LRS",
                "postPlannedFailoverRedundancy": _post_planned_sku(account.sku),
            }
        return {
            "id": f"/subscriptions/{sub}/resourceGroups/{account.resource_group}/providers/Microsoft.Storage/"
            f"storageAccounts/{name}",
            "name": name,
            "type": "Microsoft.Storage/storageAccounts",
            "kind": account.kind,
            "location": account.primary_location,
            "properties": props,
            "sku": {"name": account.sku, "tier": "Standard"},
            "tags": {"workload": "avd-fslogix"},
        }

    async def storage_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        expand = request.query.get("$expand", "")
        with self.deps.lock:
            account = self.deps.account(m["rg"], m["account"])
            return web.json_response(self._account_json(m["sub"], account, expand))

    async def storage_failover(self, request: web.Request, m: dict[str, str]) -> web.Response:
        await json_body(request)  # the operation takes no body; one, if sent, must still be JSON
        failover_type = request.query.get("failoverType")
        if failover_type not in (None, "Planned"):
            raise SimError(400, "InvalidValuesForRequestParameters", f"failoverType '{failover_type}' is not valid.")
        op = self.deps.storage_failover(m["rg"], m["account"], planned=failover_type == "Planned")
        return self._accepted(m["sub"], op)

    # -- Compute
    def _vm_id(self, sub: str, vm: VirtualMachine) -> str:
        rg_id = f"/subscriptions/{sub}/resourceGroups/{vm.resource_group}"
        return f"{rg_id}/providers/Microsoft.Compute/virtualMachines/{vm.name}"

    def _instance_view(self, vm: VirtualMachine) -> dict[str, Any]:
        now = iso(utcnow())
        provisioning: dict[str, Any]
        if vm.operation is not None:
            provisioning = {"code": "ProvisioningState/updating", "level": "Info", "displayStatus": "Updating"}
        elif vm.provisioning_error:
            provisioning = {
                "code": f"ProvisioningState/failed/{vm.provisioning_error['code']}",
                "level": "Error",
                "displayStatus": "Provisioning failed",
                "message": vm.provisioning_error["message"],
                "time": now,
            }
        else:
            provisioning = {
                "code": "ProvisioningState/succeeded",
                "level": "Info",
                "displayStatus": "Provisioning succeeded",
                "time": now,
            }
        power = {
            "code": f"PowerState/{vm.power_state}",
            "level": "Info",
            "displayStatus": f"VM {vm.power_state}",
        }
        disk_status = {
            "code": "ProvisioningState/succeeded",
            "level": "Info",
            "displayStatus": "Provisioning succeeded",
            "time": now,
        }
        view: dict[str, Any] = {
            "platformUpdateDomain": 0,
            "platformFaultDomain": 0,
            "disks": [{"name": f"{vm.name}-osdisk", "statuses": [disk_status]}],
            "hyperVGeneration": "V2",
            "isVMInStandbyPool": False,
            "statuses": [provisioning, power],
        }
        if vm.power_state == "running":  # a deallocated VM reports no guest, agent or extension state
            ready = {
                "code": "ProvisioningState/succeeded",
                "level": "Info",
                "displayStatus": "Ready",
                "message": "GuestAgent is running and accepting new configurations.",
                "time": now,
            }
            view.update(
                {
                    "computerName": vm.name,
                    "osName": "Windows 11 Enterprise multi-session",
                    "osVersion": "10.0.22631.4460",
                    "vmAgent": {
                        "vmAgentVersion": "2.7.41491.1149",
                        "statuses": [ready],
                        "extensionHandlers": [
                            {
                                "type": "Microsoft.PowerShell.DSC",
                                "typeHandlerVersion": "2.83.5.0",
                                "status": {
                                    "code": "ProvisioningState/succeeded",
                                    "level": "Info",
                                    "displayStatus": "Ready",
                                },
                            }
                        ],
                    },
                    "bootDiagnostics": {
                        "consoleScreenshotBlobUri": f"https://stdiagneu.blob.core.windows.net/bootdiagnostics/{vm.name}.screenshot.bmp",
                        "serialConsoleLogBlobUri": f"https://stdiagneu.blob.core.windows.net/bootdiagnostics/{vm.name}.serialconsole.log",
                    },
                    "extensions": [
                        {
                            "name": "Microsoft.PowerShell.DSC",
                            "type": "Microsoft.PowerShell.DSC",
                            "typeHandlerVersion": "2.83.5.0",
                            "statuses": [
                                {
                                    "code": "ProvisioningState/succeeded",
                                    "level": "Info",
                                    "displayStatus": "Provisioning succeeded",
                                    "message": "AVD agent registered to host pool",
                                }
                            ],
                        }
                    ],
                    "patchStatus": _patch_status(),
                }
            )
        return view

    def _vm_json(self, sub: str, vm: VirtualMachine, expand: str) -> dict[str, Any]:
        vm_id = self._vm_id(sub, vm)
        rg_id = vm_id.split("/providers/")[0]
        props: dict[str, Any] = {
            "vmId": vm.vm_id,
            "hardwareProfile": {"vmSize": vm.size},
            "storageProfile": {
                "imageReference": {
                    "publisher": "MicrosoftWindowsDesktop",
                    "offer": "office-365",
                    "sku": "win11-23h2-avd-m365",
                    "version": "latest",
                },
                "osDisk": {
                    "osType": "Windows",
                    "name": f"{vm.name}-osdisk",
                    "createOption": "FromImage",
                    "caching": "ReadWrite",
                    "managedDisk": {
                        "storageAccountType": "Premium_LRS",
                        "id": f"{rg_id}/providers/Microsoft.Compute/disks/{vm.name}-osdisk",
                    },
                    "diskSizeGB": 128,
                },
                "dataDisks": [],
            },
            "osProfile": {
                "computerName": vm.name,
                "adminUsername": "avdadmin",
                "windowsConfiguration": {"provisionVMAgent": True, "enableAutomaticUpdates": True},
                "secrets": [],
            },
            "networkProfile": {
                "networkInterfaces": [{"id": f"{rg_id}/providers/Microsoft.Network/networkInterfaces/{vm.name}-nic"}]
            },
            "provisioningState": "Updating" if vm.operation is not None else "Succeeded",
        }
        if expand.lower() == "instanceview":
            props["instanceView"] = self._instance_view(vm)
        return {
            "name": vm.name,
            "id": vm_id,
            "type": "Microsoft.Compute/virtualMachines",
            "location": vm.location,
            "properties": props,
        }

    async def vm_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        expand = request.query.get("$expand", "")
        with self.deps.lock:
            vm = self.deps.vm(m["rg"], m["vm"])
            return web.json_response(self._vm_json(m["sub"], vm, expand))

    async def vm_instance_view(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.deps.lock:
            vm = self.deps.vm(m["rg"], m["vm"])
            return web.json_response(self._instance_view(vm))

    async def vm_power(self, request: web.Request, m: dict[str, str]) -> web.Response:
        await json_body(request)  # the operation takes no body; one, if sent, must still be JSON
        op = self.deps.vm_power(m["rg"], m["vm"], start=m["op"].lower() == "start")
        return self._accepted(m["sub"], op)

    # -- Automation webhook and inspection
    async def webhook_post(self, request: web.Request, m: dict[str, str]) -> web.Response:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")  # a runbook receives any body as text
        call = self.deps.webhook_call(m["name"], request.query.get("token"), body)
        return web.json_response({"JobIds": [call.job_id]}, status=202)

    async def sim_webhooks(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.deps.lock:
            return web.json_response([self.deps.call_json(c) for c in self.deps.webhook_calls])

    async def sim_state(self, request: web.Request, m: dict[str, str]) -> web.Response:
        return web.json_response(self.deps.snapshot())


def _provider_name(provider: str) -> str:
    return {"microsoft.sql": "Microsoft.Sql", "microsoft.storage": "Microsoft.Storage"}.get(
        provider, "Microsoft.Compute"
    )


def _iso_seconds(ts: datetime | None) -> str | None:
    """Storage reports lastSyncTime to the second: `2018-10-30T00:25:34Z`."""
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ") if ts else None


def _patch_status() -> dict[str, Any]:
    stamp = iso(utcnow())
    return {
        "availablePatchSummary": {
            "status": "Succeeded",
            "assessmentActivityId": str(uuid.uuid4()),
            "rebootPending": False,
            "criticalAndSecurityPatchCount": 0,
            "otherPatchCount": 0,
            "startTime": stamp,
            "lastModifiedTime": stamp,
            "error": None,
        },
        "lastPatchInstallationSummary": {
            "status": "Succeeded",
            "installationActivityId": str(uuid.uuid4()),
            "maintenanceWindowExceeded": False,
            "notSelectedPatchCount": 0,
            "excludedPatchCount": 0,
            "pendingPatchCount": 0,
            "installedPatchCount": 0,
            "failedPatchCount": 0,
            "startTime": stamp,
            "lastModifiedTime": stamp,
            "error": None,
        },
        "configurationStatuses": [
            {
                "code": "PatchModeConfigurationState/Ready",
                "level": "Info",
                "displayStatus": "Status_PatchModeConfigurationState_Ready",
                "time": stamp,
            }
        ],
    }


def add_routes(table: RouteTable, deps: Dependencies) -> None:
    """Register the SQL, Storage, Compute, Automation webhook and inspection routes."""
    r = Routes(table, deps)
    add = table.add
    add("GET", _SERVER + r"$", "sql.servers.get", r.sql_server_get)
    add("GET", _SERVER + r"/failovergroups$", "sql.failovergroups.list", r.sql_groups_list)
    add("GET", _FG + r"$", "sql.failovergroups.get", r.sql_group_get)
    add(
        "POST",
        _FG + r"/(?P<op>failover|forcefailoverallowdataloss)$",
        "sql.failovergroups.failover",
        r.sql_group_failover,
    )
    add(
        "GET",
        locations("sql") + r"/failovergroupazureasyncoperation/(?P<op>[^/]+)$",
        "sql.operations.status",
        r.operation_status,
    )
    add(
        "GET",
        locations("sql") + r"/failovergroupoperationresults/(?P<op>[^/]+)$",
        "sql.operations.result",
        r.sql_operation_result,
    )
    add("GET", _ACCOUNT + r"$", "storage.accounts.get", r.storage_get)
    add("POST", _ACCOUNT + r"/failover$", "storage.accounts.failover", r.storage_failover)
    add("GET", locations("storage") + r"/asyncoperations/(?P<op>[^/]+)$", "storage.operations.get", r.operation_status)
    add("GET", _VM + r"$", "compute.vms.get", r.vm_get)
    add("GET", _VM + r"/instanceview$", "compute.vms.instance_view", r.vm_instance_view)
    add("POST", _VM + r"/(?P<op>start|deallocate)$", "compute.vms.power", r.vm_power)
    add("GET", locations("compute") + r"/operations/(?P<op>[^/]+)$", "compute.operations.get", r.operation_status)
    add("POST", r"/automation/webhooks/(?P<name>[^/]+)$", "automation.webhook", r.webhook_post)
    add("GET", r"/_sim/webhooks$", "sim.webhooks", r.sim_webhooks)
    add("GET", r"/_sim/dependencies$", "sim.dependencies", r.sim_state)
