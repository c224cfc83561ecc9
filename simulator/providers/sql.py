"""Azure SQL (Microsoft.Sql 2023-08-01): servers and failover groups, and a failover group's failover.

State (`Sql`: servers, failover groups, their failover operations on the toolkit's `OperationBook`), routes
(`add_routes`: server get, failover group list/get, failover and forceFailoverAllowDataLoss, the operation status and
result), the demo seed (`seed_demo`: fg-contoso between West and North Europe) and its part of
`GET /_sim/dependencies` (`snapshot`). A friendly failover from a primary in a region that is down (the estate's
`Cloud.regions`) fails. Shapes follow Microsoft's REST example `FailoverGroupFailover`; the failover answers 202
with `Azure-AsyncOperation`, `Location` and `Retry-After`.
"""

from __future__ import annotations

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
    OperationRoutes,
    RouteTable,
    SimError,
    json_body,
    locations,
)

_SERVER = RG + r"/microsoft\.sql/servers/(?P<server>[^/]+)"
_FG = _SERVER + r"/failovergroups/(?P<fg>[^/]+)"

API_VERSION = "2023-08-01"
REGION_NAMES = {"westeurope": "West Europe", "northeurope": "North Europe"}
RETRY_AFTER_SECONDS = 10  # simulated


def _region_name(location: str) -> str:
    return REGION_NAMES.get(location, location)


# ---- the demo estate (names) -----------------------------------------------------------------------
DEMO_SQL_PRIMARY_RG = "rg-data-weu"
DEMO_SQL_PRIMARY = "sql-contoso-weu"
DEMO_SQL_SECONDARY_RG = "rg-data-neu"
DEMO_SQL_SECONDARY = "sql-contoso-neu"
DEMO_FAILOVER_GROUP = "fg-contoso"
DEMO_SQL_DATABASES = ("sqldb-contoso-app", "sqldb-contoso-identity")


class SqlKnobs(Protocol):
    """The knobs SQL reads, in simulated seconds (`simulator.dependencies.DependencyConfig`)."""

    sql_failover_seconds: float  # a friendly (planned) failover group failover
    sql_forced_failover_seconds: float  # forceFailoverAllowDataLoss
    failing: dict[str, str]  # failover group name -> error text: its next failover ends Failed


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


class Sql(OperationBook):
    """The SQL servers and failover groups of one estate. Every method takes the estate's lock."""

    def __init__(self, cloud: Cloud, config: SqlKnobs) -> None:
        super().__init__(cloud)
        self.config = config
        self.servers: dict[tuple[str, str], SqlServer] = {}
        self.failover_groups: dict[str, FailoverGroup] = {}

    # ---- operations (simulator.arm.OperationBook: start, refresh, look up) ----------------
    def _finish(self, op: Operation) -> None:
        failure = op.fail_with
        reachable = self.cloud.regions.reachable
        if failure is None and op.kind == "sql.failover":
            group: FailoverGroup = op.target
            primary = group.server(group.primary)
            if primary is not None and not reachable(primary.location):
                failure = (
                    f"The friendly failover of failover group '{group.name}' could not reach the primary server "
                    f"'{primary.name}'. Use forceFailoverAllowDataLoss."
                )
        if failure:
            op.status = "Failed"
            op.error = {"code": "OperationFailed", "message": failure}
        else:
            op.status = "Succeeded"
        group = op.target
        group.operation = None
        group.replication_state = "CATCH_UP"
        if op.status == "Succeeded" and op.server:
            old = group.server(group.primary)
            group.primary = op.server
            if op.kind == "sql.forcedfailover" and old is not None and not reachable(old.location):
                group.replication_state = "SUSPENDED"  # the old primary cannot be reached to reseed

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

    # ---- the demo estate ------------------------------------------------------------------
    def seed_demo(self, primary: str = PRIMARY_REGION, recovery: str = RECOVERY_REGION) -> None:
        """The SQL servers in both regions and the failover group between them, primary in `primary`."""
        with self.lock:
            weu = SqlServer(DEMO_SQL_PRIMARY_RG, DEMO_SQL_PRIMARY, primary)
            neu = SqlServer(DEMO_SQL_SECONDARY_RG, DEMO_SQL_SECONDARY, recovery)
            for server in (weu, neu):
                self.servers[(server.resource_group, server.name)] = server
            self.failover_groups[DEMO_FAILOVER_GROUP] = FailoverGroup(
                DEMO_FAILOVER_GROUP, [weu, neu], weu.name, list(DEMO_SQL_DATABASES)
            )

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
            }


# ---- HTTPS routes ----------------------------------------------------------------------------
class Routes(OperationRoutes):
    """The handlers, over one estate's `Sql`; LRO headers point back at `table.base_url`."""

    retry_after_seconds = RETRY_AFTER_SECONDS

    def __init__(self, table: RouteTable, sql: Sql) -> None:
        super().__init__(table, sql)
        self.sql = sql

    def _op_urls(self, sub: str, op: Operation) -> dict[str, str]:
        base = f"{self.table.base_url}/subscriptions/{sub}/providers/Microsoft.Sql/locations/{op.location}"
        return {
            "Azure-AsyncOperation": f"{base}/failoverGroupAzureAsyncOperation/{op.id}?api-version={API_VERSION}",
            "Location": f"{base}/failoverGroupOperationResults/{op.id}?api-version={API_VERSION}",
        }

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
        with self.sql.lock:
            server = self.sql.sql_server(m["rg"], m["server"])
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
        with self.sql.lock:
            groups = self.sql.groups_of(m["rg"], m["server"])
            server = self.sql.sql_server(m["rg"], m["server"])
            return web.json_response({"value": [self._group_json(m["sub"], g, server) for g in groups]})

    async def sql_group_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.sql.lock:
            group, server = self.sql.failover_group(m["rg"], m["server"], m["fg"])
            return web.json_response(self._group_json(m["sub"], group, server))

    async def sql_group_failover(self, request: web.Request, m: dict[str, str]) -> web.Response:
        await json_body(request)  # the operation takes no body; one, if sent, must still be JSON
        forced = m["op"].lower() == "forcefailoverallowdataloss"
        op = self.sql.sql_failover(m["rg"], m["server"], m["fg"], forced)
        return self._accepted(m["sub"], op)

    async def sql_operation_result(self, request: web.Request, m: dict[str, str]) -> web.Response:
        """The Location of a failover group failover: 202 while running, then the group from the new primary."""
        op = self.sql.operation(m["op"], "microsoft.sql")
        with self.sql.lock:
            group: FailoverGroup = op.target
            server = group.server(op.server or group.primary) or group.servers[0]
            return self._location_answer(m["sub"], op, self._group_json(m["sub"], group, server))


def add_routes(table: RouteTable, sql: Sql) -> None:
    """Register the SQL server, failover group and operation routes."""
    r = Routes(table, sql)
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
