"""Azure Storage (Microsoft.Storage 2025-06-01): a geo-redundant storage account (FSLogix profiles) and its
failover, planned or not.

State (`Storage`: accounts, their failover operations on the toolkit's `OperationBook`), routes (`add_routes`:
account get with `$expand=geoReplicationStats`, failover, the operation status), the demo seed (`seed_demo`:
stcontosofslogix) and its part of `GET /_sim/dependencies` (`snapshot`). A primary in a region that is down (the
estate's `Cloud.regions`) reports `unavailable`, its lastSyncTime stops, and a planned failover is refused. Shapes
follow Microsoft's REST examples `StorageAccountGetProperties` and `StorageAccountFailover`; the failover answers
202 with `Location` and `Retry-After`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from aiohttp import web

from simulator.arm import (
    PRIMARY_REGION,
    RECOVERY_REGION,
    RG,
    Cloud,
    Operation,
    OperationBook,
    OperationRoutes,
    RouteTable,
    SimError,
    iso,
    json_body,
    locations,
    utcnow,
)

_ACCOUNT = RG + r"/microsoft\.storage/storageaccounts/(?P<account>[^/]+)"

API_VERSION = "2025-06-01"
RETRY_AFTER_SECONDS = 17  # simulated

# ---- the demo estate (names) -----------------------------------------------------------------------
DEMO_STORAGE_RG = "rg-avd-weu"
DEMO_STORAGE_ACCOUNT = "stcontosofslogix"


class StorageKnobs(Protocol):
    """The knobs Storage reads, in simulated seconds (`simulator.dependencies.DependencyConfig`)."""

    storage_failover_seconds: float  # a storage account failover (Azure: typically under an hour)
    storage_sync_lag_seconds: float  # geoReplicationStats.lastSyncTime lags the primary by this much
    failing: dict[str, str]  # storage account name -> error text: its next failover ends Failed


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


class Storage(OperationBook):
    """The storage accounts of one estate. Every method takes the estate's lock."""

    def __init__(self, cloud: Cloud, config: StorageKnobs) -> None:
        super().__init__(cloud)
        self.config = config
        self.accounts: dict[tuple[str, str], StorageAccount] = {}

    # ---- operations (simulator.arm.OperationBook: start, refresh, look up) ----------------
    def _finish(self, op: Operation) -> None:
        failure = op.fail_with
        if failure:
            op.status = "Failed"
            op.error = {"code": "OperationFailed", "message": failure}
        else:
            op.status = "Succeeded"
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
        now = self.cloud.regions.outages.get(account.primary_location.lower(), utcnow())
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
            reachable = self.cloud.regions.reachable
            if planned and not (reachable(account.primary_location) and reachable(account.secondary_location)):
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

    # ---- the demo estate ------------------------------------------------------------------
    def seed_demo(self, primary: str = PRIMARY_REGION, recovery: str = RECOVERY_REGION) -> None:
        """The FSLogix storage account, primary in `primary`, secondary in `recovery`."""
        with self.lock:
            self.accounts[(DEMO_STORAGE_RG, DEMO_STORAGE_ACCOUNT)] = StorageAccount(
                DEMO_STORAGE_RG, DEMO_STORAGE_ACCOUNT, primary, recovery
            )

    # ---- inspection -----------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            self.refresh()
            return {
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
            }


def _post_planned_sku(sku: str) -> str:
    """After a planned failover the account stays geo-redundant; a zone-redundant primary becomes GRS."""
    return {"Standard_GZRS": "Standard_GRS", "Standard_RAGZRS": "Standard_RAGRS"}.get(sku, sku)


def _iso_seconds(ts: datetime | None) -> str | None:
    """Storage reports lastSyncTime to the second: `2018-10-30T00:25:34Z`."""
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ") if ts else None


# ---- HTTPS routes ----------------------------------------------------------------------------
class Routes(OperationRoutes):
    """The handlers, over one estate's `Storage`; LRO headers point back at `table.base_url`."""

    retry_after_seconds = RETRY_AFTER_SECONDS

    def __init__(self, table: RouteTable, storage: Storage) -> None:
        super().__init__(table, storage)
        self.storage = storage

    def _op_urls(self, sub: str, op: Operation) -> dict[str, str]:
        base = f"{self.table.base_url}/subscriptions/{sub}/providers/Microsoft.Storage/locations/{op.location}"
        # as in StorageAccountFailover.json: Location only
        return {"Location": f"{base}/asyncoperations/{op.id}?monitor=true&api-version={API_VERSION}"}

    def _account_json(self, sub: str, account: StorageAccount, expand: str) -> dict[str, Any]:
        name = account.name
        created = iso(account.created_at)
        reachable = self.storage.cloud.regions.reachable

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
            "statusOfPrimary": "available" if reachable(account.primary_location) else "unavailable",
            "supportsHttpsTrafficOnly": True,
            "geoPriorityReplicationStatus": {"isBlobEnabled": False},
        }
        geo = account.secondary_location is not None
        if geo:
            props["secondaryLocation"] = account.secondary_location
            props["statusOfSecondary"] = "available" if reachable(account.secondary_location) else ("unavailable")
        if account.last_failover_at:
            props["lastGeoFailoverTime"] = iso(account.last_failover_at)
        if account.operation is not None:
            props["failoverInProgress"] = True  # Azure: true during a failover, otherwise absent
        if geo and expand.lower() == "georeplicationstats":
            both = reachable(account.primary_location) and reachable(account.secondary_location)
            props["geoReplicationStats"] = {
                "status": "Live" if reachable(account.secondary_location) else "Unavailable",
                "lastSyncTime": _iso_seconds(self.storage.last_sync_time(account)),
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
        with self.storage.lock:
            account = self.storage.account(m["rg"], m["account"])
            return web.json_response(self._account_json(m["sub"], account, expand))

    async def storage_failover(self, request: web.Request, m: dict[str, str]) -> web.Response:
        await json_body(request)  # the operation takes no body; one, if sent, must still be JSON
        failover_type = request.query.get("failoverType")
        if failover_type not in (None, "Planned"):
            raise SimError(400, "InvalidValuesForRequestParameters", f"failoverType '{failover_type}' is not valid.")
        op = self.storage.storage_failover(m["rg"], m["account"], planned=failover_type == "Planned")
        return self._accepted(m["sub"], op)


def add_routes(table: RouteTable, storage: Storage) -> None:
    """Register the storage account and operation routes."""
    r = Routes(table, storage)
    add = table.add
    add("GET", _ACCOUNT + r"$", "storage.accounts.get", r.storage_get)
    add("POST", _ACCOUNT + r"/failover$", "storage.accounts.failover", r.storage_failover)
    add("GET", locations("storage") + r"/asyncoperations/(?P<op>[^/]+)$", "storage.operations.get", r.operation_status)
