"""The Azure Monitor Logs query API (`POST {base}/v1/workspaces/{workspaceId}/query`, body `{"query", "timespan"}`)
over the Log Analytics workspace of the simulated estate.

State (`MonitorLogs`: workspaces and every query received), routes (`add_routes`), the demo seed (`seed_demo`: the
workspace) and its part of `GET /_sim/network` (`snapshot`). Shapes follow Microsoft's REST examples
(`tests/reference/rest-examples/loganalytics`). The simulator cannot run KQL. It recognises the two query shapes
`activities.verify` sends and answers them from the estate (ASR's recovery plans, AVD's host pools, the compute
provider's VMs); any other query is a 400 in the Logs API's error shape:
- `Heartbeat | where TimeGenerated > ago(Nm) | where Computer in~ ("a", ...) | summarize LastSeen =
  max(TimeGenerated) by Computer`: rows for the named computers that report: every VM active in the
  recovery region (its recovery plan failed over successfully), every VM whose recovery plan is
  test-failed-over (its test VM runs in the isolated network until the cleanup), every running VM of
  the compute provider (standby session hosts the service started, restored VMs), the `always_reporting` computers
  (an on-premises domain controller), every primary VM when `primary_reporting`; never the
  `silent_computers`.
- `WVDAgentHealthStatus | where TimeGenerated > ago(Nm) | where _ResourceId endswith "/hostpools/{pool}"
  | summarize arg_max(TimeGenerated, Status) by SessionHostName`: one row per session host of the
  recovery host pool: the estate's host pool of that name (Status = the session host's status, which
  follows its VM's power state), else generated names reporting `Available`; `session_host_status`
  overrides a host's Status; `silent_computers` send nothing.
"""

from __future__ import annotations

import re
import uuid
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from aiohttp import web

from simulator.arm import Cloud, RouteTable, SimError, iso, json_body, utcnow
from simulator.providers.compute import Compute
from simulator.providers.desktop_virtualization import DesktopVirtualization
from simulator.providers.recovery_services import SiteRecovery

DEMO_WORKSPACE_ID = "8c2f6a3e-4b1d-4e7a-9f05-3d6b2c1a7e94"
DEMO_LOGS_RG = "rg-monitor-neu"
DEMO_WORKSPACE_NAME = "law-failover-neu"
DEMO_RECOVERY_HOST_POOL = "hp-neu-pooled"


class LogsKnobs(Protocol):
    """The knobs Logs reads (`simulator.network.NetworkConfig`). Names are matched case-insensitively."""

    workspace_id: str
    always_reporting: tuple[str, ...]  # computers outside the failed region
    silent_computers: tuple[str, ...]  # never send a heartbeat / agent health row
    primary_reporting: bool  # True: VMs still active in the primary region report too
    recovery_host_pool: str
    # Session hosts of the recovery host pool. Empty: those of the estate's host pool of that name,
    # or (when the estate has none) `recovery_session_hosts` generated names sh-neu-001.contoso.local, ...
    recovery_session_host_names: tuple[str, ...]
    recovery_session_hosts: int
    session_host_status: dict[str, str]  # session host -> agent Status


class MonitorLogs:
    """The Log Analytics workspaces of one estate and the queries they received. Uses the estate's lock.

    It reads the rest of the estate: ASR's recovery plans (VMs active in the recovery region), AVD's host pools,
    and the compute provider's VMs. `config` gives the knobs when asked (they are set on first use:
    `simulator.network.Network.config`)."""

    def __init__(
        self,
        cloud: Cloud,
        config: Callable[[], LogsKnobs],
        asr: SiteRecovery,
        avd: DesktopVirtualization,
        compute: Compute,
    ) -> None:
        self.cloud = cloud
        self._config = config
        self.asr = asr
        self.avd = avd
        self.compute = compute
        self.workspaces: set[str] = set()
        self.queries: list[dict[str, Any]] = []  # every Logs query received: {workspace, kind, at}

    @property
    def config(self) -> LogsKnobs:
        return self._config()

    @property
    def lock(self) -> Any:
        return self.cloud.lock

    def _compute(self) -> Compute:
        """The compute provider (standby and restored VMs), brought up to date."""
        self.compute.refresh()
        return self.compute

    @property
    def workspace_id(self) -> str:
        """The seeded Log Analytics workspace's id (the GUID the Logs API takes)."""
        return self.config.workspace_id

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
            self._compute()
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
            for vm in self._compute().vms.values():  # standby VMs started by the service
                if vm.power_state == "running":
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
        """The workspace."""
        self.add_workspace(self.config.workspace_id)

    def snapshot(self) -> dict[str, Any]:
        with self.cloud.lock:
            return {
                "workspaces": sorted(self.workspaces),
                "logs_queries": [dict(q, at=iso(q["at"])) for q in self.queries],
            }


# ---- HTTP ------------------------------------------------------------------------------------
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


class Routes:
    """The handlers, over one estate's `MonitorLogs`."""

    def __init__(self, logs: MonitorLogs) -> None:
        self.logs = logs

    async def logs_query(self, request: web.Request, m: dict[str, str]) -> web.Response:
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            message = "Authentication failed. The 'Authorization' header is missing."
            return _logs_error(401, "AuthenticationFailed", message)
        if m["workspace"].lower() not in self.logs.workspaces:
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
            rows = self.logs.heartbeat_rows(names, window)
        else:
            rows = self.logs.agent_health_rows(suffix.split("/", 2)[2], window)
        with self.logs.lock:
            self.logs.queries.append({"workspace": m["workspace"], "kind": kind, "rows": len(rows), "at": utcnow()})
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


def add_routes(table: RouteTable, logs: MonitorLogs) -> None:
    """Register the Logs query route."""
    r = Routes(logs)
    table.add("POST", r"/v1/workspaces/(?P<workspace>[^/]+)/query$", "logs.query", r.logs_query)
