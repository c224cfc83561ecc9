"""Verify activities: after failover, ask Azure Monitor Logs who is back, and ASR which VMs to ask about.

- `asr_recovery_plan_vms`: the VM (computer) names of recovery plans, from ASR (plan groups →
  replication protected items → friendlyName), so the orchestration asks Logs about exactly them.
- `logs_heartbeat`: which of those computers sent a `Heartbeat` in the last N minutes.
- `logs_avd_agent_health`: the AVD agent health (`WVDAgentHealthStatus`) of a host pool's session hosts.

All three only read, so they may run any number of times. Names go into KQL as escaped string
literals (never spliced raw); a name with a control character is refused. A partial Logs result
(`LogsQueryPartialResult`) is an error here: a verify step must not report computers "missing" because
the query only half ran.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df

from activities._common import clients, log
from failover.contracts.verify import (
    AvdAgentHealthInput,
    AvdAgentHealthResult,
    HeartbeatInput,
    HeartbeatResult,
    RecoveryPlanVmsInput,
    RecoveryPlanVmsResult,
)

CHUNK = 200  # computer names per Heartbeat query: keeps each query small
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def kql_string(value: str) -> str:
    """A KQL double-quoted string literal for `value` (backslash and quote escaped)."""
    if not isinstance(value, str) or not value or _CONTROL.search(value):
        raise ValueError(f"{value!r} cannot be used as a name in a Logs query (empty, or has control characters)")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def heartbeat_query(computers: list[str], minutes: int) -> str:
    names = ", ".join(kql_string(c) for c in computers)
    return (
        f"Heartbeat | where TimeGenerated > ago({minutes}m) | where Computer in~ ({names}) "
        "| summarize LastSeen = max(TimeGenerated) by Computer"
    )


def agent_health_query(host_pool: str, minutes: int) -> str:
    return (
        f"WVDAgentHealthStatus | where TimeGenerated > ago({minutes}m) "
        f"| where _ResourceId endswith {kql_string('/hostpools/' + host_pool)} "
        "| summarize arg_max(TimeGenerated, Status) by SessionHostName"
    )


def _rows(workspace_id: str, query: str, minutes: int) -> list[Any]:
    from azure.monitor.query import LogsQueryPartialResult

    result = clients().logs().query_workspace(workspace_id, query, timespan=timedelta(minutes=minutes))
    if isinstance(result, LogsQueryPartialResult):
        error = result.partial_error
        raise RuntimeError(
            f"Logs query on workspace {workspace_id} returned a partial result: "
            f"{getattr(error, 'code', '')}: {getattr(error, 'message', error)}"
        )
    return [row for table in result.tables for row in table.rows]


def logs_heartbeat(payload: HeartbeatInput) -> HeartbeatResult:
    """Which `computers` sent a Heartbeat in the last `minutes` (default 15).

    Input: workspace_id (the Log Analytics workspace GUID), computers (names), minutes.
    Output: reporting and missing (names as given, in the given order), checked_at. Matching is
    case-insensitive and exact (`in~`): a VM whose agent reports its FQDN must be named so.
    """
    minutes = payload.minutes
    unique = list(dict.fromkeys(payload.computers))
    seen: set[str] = set()
    for start in range(0, len(unique), CHUNK):
        chunk = unique[start : start + CHUNK]
        for row in _rows(payload.workspace_id, heartbeat_query(chunk, minutes), minutes):
            seen.add(str(row["Computer"]).lower())
    reporting = [c for c in unique if c.lower() in seen]
    missing = [c for c in unique if c.lower() not in seen]
    log(payload, "verify.heartbeat").info(
        "heartbeat", computers=len(unique), reporting=len(reporting), missing=missing[:20]
    )
    return HeartbeatResult(reporting=reporting, missing=missing, checked_at=datetime.now(UTC).isoformat())


def logs_avd_agent_health(payload: AvdAgentHealthInput) -> AvdAgentHealthResult:
    """The AVD agent health of `host_pool`'s session hosts in the last `minutes` (default 15).

    Input: workspace_id, host_pool, minutes, and optionally session_hosts (the names expected to
    report). Output: healthy (latest Status `Available`), unhealthy (any other latest Status, plus
    expected session hosts that sent no row), missing (the expected ones that sent no row),
    statuses (session host → latest Status, for those not Available) and checked_at.
    """
    minutes = payload.minutes
    expected = payload.session_hosts
    latest: dict[str, tuple[str, Any, str]] = {}  # lower name -> (name, time, status)
    for row in _rows(payload.workspace_id, agent_health_query(payload.host_pool, minutes), minutes):
        name, at, status = str(row["SessionHostName"]), row["TimeGenerated"], str(row["Status"])
        known = latest.get(name.lower())
        if known is None or (at is not None and (known[1] is None or at > known[1])):
            latest[name.lower()] = (name, at, status)
    healthy = sorted(n for n, _, s in latest.values() if s == "Available")
    statuses = {n: s for n, _, s in sorted(latest.values()) if s != "Available"}
    missing = [h for h in dict.fromkeys(expected) if h.lower() not in latest]
    result = AvdAgentHealthResult(
        healthy=healthy,
        unhealthy=sorted(statuses) + missing,
        missing=missing,
        statuses=statuses,
        checked_at=datetime.now(UTC).isoformat(),
    )
    log(payload, "verify.avd").info(
        "avd agent health", host_pool=payload.host_pool, healthy=len(healthy), unhealthy=len(result.unhealthy)
    )
    return result


def asr_recovery_plan_vms(payload: RecoveryPlanVmsInput) -> RecoveryPlanVmsResult:
    """The VM names (protected items' friendlyName) of each named recovery plan, in group order.

    One plan GET per plan, then one vault-wide protected-item listing to resolve ids to names. An
    item a plan lists that the vault does not know is named by the last segment of its id.
    """
    plans = payload.recovery_plans
    client = clients().site_recovery(payload.subscription_id)
    rg, vault = payload.resource_group, payload.vault
    ids: dict[str, list[str]] = {}
    for name in dict.fromkeys(plans):
        props = client.replication_recovery_plans.get(rg, vault, name).properties
        if props is None:
            raise RuntimeError(f"recovery plan {name} came back without properties")
        ids[name] = [
            ref.id for group in props.groups or [] for ref in group.replication_protected_items or [] if ref.id
        ]
    names: dict[str, str] = {}  # lower-cased item id -> friendly name
    if any(ids.values()):
        for item in client.replication_protected_items.list(rg, vault):
            if item.id:
                friendly = item.properties.friendly_name if item.properties else None
                names[item.id.lower()] = friendly or item.name or item.id.rsplit("/", 1)[-1]
    unresolved = [i for refs in ids.values() for i in refs if i.lower() not in names]
    if unresolved:
        log(payload, "verify.plan_vms").warning("items not in the vault", items=unresolved[:20])
    vms = {
        plan: list(dict.fromkeys(names.get(i.lower(), i.rsplit("/", 1)[-1]) for i in refs))
        for plan, refs in ids.items()
    }
    return RecoveryPlanVmsResult(vms=vms)


ACTIVITIES = [asr_recovery_plan_vms, logs_heartbeat, logs_avd_agent_health]

bp = df.Blueprint()
for _activity in ACTIVITIES:
    bp.activity_trigger(input_name="payload")(_activity)
