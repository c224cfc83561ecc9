"""Azure Site Recovery activities: resolve recovery plans, start a failover, read a job, check replication.

`asr_start_failover` is idempotent: it reads the recovery plan first and attaches to a failover
job already running, skips a plan already failed over, and only then starts one. Jobs are watched
by the orchestration with durable timers, never by blocking here. `asr_replication_health` only
reads, so it may run any number of times.
"""

from __future__ import annotations

import fnmatch
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
from azure.core.exceptions import ResourceExistsError
from azure.mgmt.recoveryservicessiterecovery.models import (
    RecoveryPlanA2AFailoverInput,
    RecoveryPlanPlannedFailoverInput,
    RecoveryPlanPlannedFailoverInputProperties,
    RecoveryPlanUnplannedFailoverInput,
    RecoveryPlanUnplannedFailoverInputProperties,
)

from activities._common import clients, log, require

FAILOVER_SCENARIOS = {"plannedfailover", "unplannedfailover"}
TERMINAL_JOB_STATES = {"Succeeded", "Failed", "Cancelled", "Suspended"}


def _vm_count(plan: Any) -> int:
    return sum(len(g.replication_protected_items or []) for g in plan.properties.groups or [])


def _scenario(plan: Any) -> tuple[str, str | None, str | None]:
    """(scenario name lower-cased, job name, scenario status) of the plan's current scenario."""
    current = plan.properties.current_scenario
    if not current:
        return "", None, None
    job_id = current.job_id or ""
    return (
        (current.scenario_name or "").lower(),
        job_id.rsplit("/", 1)[-1] or None,
        plan.properties.current_scenario_status,
    )


def _is_failed_over(plan: Any) -> bool:
    allowed = {op.lower() for op in plan.properties.allowed_operations or []}
    scenario, _, status = _scenario(plan)
    committed = scenario == "commitfailover" and status == "Succeeded"
    return (
        "commit" in allowed
        or "reversereplicate" in allowed
        or committed
        or (scenario in FAILOVER_SCENARIOS and status == "Succeeded")
    )


def asr_resolve_recovery_plans(payload: dict[str, Any]) -> dict[str, Any]:
    """List the vault's recovery plans and resolve each group's names and patterns to plans + VM counts."""
    require(payload, "subscription_id", "resource_group", "vault", "groups")
    client = clients().site_recovery(payload["subscription_id"])
    plans = {p.name: p for p in client.replication_recovery_plans.list(payload["resource_group"], payload["vault"])}
    claimed: set[str] = set()
    groups = []
    unmatched = []
    for group in payload["groups"]:
        members = []
        for pattern in group["recovery_plans"]:
            names = sorted(n for n in plans if fnmatch.fnmatchcase(n.lower(), pattern.lower()) and n not in claimed)
            if not names:
                unmatched.append({"group": group["name"], "pattern": pattern})
            for name in names:
                claimed.add(name)
                members.append(
                    {"name": name, "vms": _vm_count(plans[name]), "failed_over": _is_failed_over(plans[name])}
                )
        groups.append({"name": group["name"], "recovery_plans": members})
    return {"groups": groups, "unmatched": unmatched}


def asr_start_failover(payload: dict[str, Any]) -> dict[str, Any]:
    """Start (or attach to, or skip) the failover of one recovery plan. Returns the job name."""
    require(payload, "subscription_id", "resource_group", "vault", "recovery_plan", "mode")
    client = clients().site_recovery(payload["subscription_id"]).replication_recovery_plans
    rg, vault, name = payload["resource_group"], payload["vault"], payload["recovery_plan"]
    plan = client.get(rg, vault, name)
    scenario, job, status = _scenario(plan)
    if scenario in FAILOVER_SCENARIOS and status == "InProgress":
        return {"recovery_plan": name, "job": job, "action": "attached"}
    if _is_failed_over(plan):
        return {"recovery_plan": name, "job": job, "action": "skipped", "reason": "already failed over"}
    details = [RecoveryPlanA2AFailoverInput(recovery_point_type=payload.get("recovery_point_type") or "Latest")]
    try:
        if payload["mode"] == "planned":
            client.begin_planned_failover(
                rg,
                vault,
                name,
                RecoveryPlanPlannedFailoverInput(
                    properties=RecoveryPlanPlannedFailoverInputProperties(
                        failover_direction="PrimaryToRecovery", provider_specific_details=details
                    )
                ),
                polling=False,
            )
        else:
            client.begin_unplanned_failover(
                rg,
                vault,
                name,
                RecoveryPlanUnplannedFailoverInput(
                    properties=RecoveryPlanUnplannedFailoverInputProperties(
                        failover_direction="PrimaryToRecovery",
                        source_site_operations=payload.get("source_site_operations") or "NotRequired",
                        provider_specific_details=details,
                    )
                ),
                polling=False,
            )
        action = "started"
    except ResourceExistsError:
        action = "attached"  # another caller started it between our read and our POST
    # The 202's operation status is not the job: the plan's current scenario names the job.
    _, job, _ = _scenario(client.get(rg, vault, name))
    if not job:
        raise RuntimeError(f"recovery plan {name}: failover accepted but no job is reported in currentScenario")
    log(payload, "asr.failover").info("failover job", recovery_plan=name, job=job, action=action)
    return {"recovery_plan": name, "job": job, "action": action}


def asr_get_job(payload: dict[str, Any]) -> dict[str, Any]:
    """Read an ASR job: state, times and ASR's own error text when it failed."""
    require(payload, "subscription_id", "resource_group", "vault", "job")
    client = clients().site_recovery(payload["subscription_id"])
    job = client.replication_jobs.get(payload["resource_group"], payload["vault"], payload["job"])
    props = job.properties
    if props is None:
        raise RuntimeError(f"ASR job {payload['job']} came back without properties")
    errors = []
    for error in props.errors or []:
        details = error.service_error_details
        if details and details.message:
            errors.append(f"{details.code}: {details.message}" if details.code else details.message)
    return {
        "job": payload["job"],
        "recovery_plan": payload.get("recovery_plan"),
        "state": props.state,
        "terminal": props.state in TERMINAL_JOB_STATES,
        "started_at": props.start_time.isoformat() if props.start_time else None,
        "ended_at": props.end_time.isoformat() if props.end_time else None,
        "errors": errors,
    }


# Bounds that keep the activity's output (and so the orchestration history) small.
UNHEALTHY_LISTED = 50
ERRORS_PER_ITEM = 3
ERROR_CHARS = 300
_SEVERITY = {"critical": 0, "missing": 1, "warning": 2}


def _health_errors(props: Any) -> list[str]:
    texts = []
    for error in props.health_errors or []:
        text = error.error_message or error.summary_message
        if text:
            text = f"{error.error_code}: {text}" if error.error_code else text
            texts.append(text[:ERROR_CHARS])
    return texts[:ERRORS_PER_ITEM]


def _rpo_seconds(details: Any) -> float | None:
    """The item's RPO from its provider details: A2A `rpoInSeconds`, InMage-style `lastRpoInSeconds`."""
    for attribute in ("rpo_in_seconds", "last_rpo_in_seconds"):
        value = getattr(details, attribute, None) if details is not None else None
        if value is not None:
            return float(value)
    return None


def asr_replication_health(payload: dict[str, Any]) -> dict[str, Any]:
    """Replication readiness of the vault's protected items, for the approval card.

    Input: subscription_id, resource_group, vault, and optionally recovery_plans (names): then only
    the items those plans list in `groups[].replicationProtectedItems[].id` count, and an item a plan
    lists that the vault does not is reported unhealthy with health "Missing".
    Output: protected_items (items counted), healthy (replicationHealth Normal and active on the
    primary), failed_over (already active in the recovery region: neither healthy nor unhealthy),
    unhealthy (worst first, at most 50: name, health, errors), unhealthy_total, max_rpo_seconds
    (highest RPO among items still replicating; None when none reports one) and checked_at.
    """
    require(payload, "subscription_id", "resource_group", "vault")
    client = clients().site_recovery(payload["subscription_id"])
    rg, vault = payload["resource_group"], payload["vault"]
    wanted: dict[str, str] | None = None  # lower-cased item id -> name, when limited to some plans
    names = payload.get("recovery_plans")
    if names is not None:
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise ValueError("activity input recovery_plans must be a list of recovery plan names")
        wanted = {}
        for name in names:
            plan = client.replication_recovery_plans.get(rg, vault, name).properties
            if plan is None:
                raise RuntimeError(f"recovery plan {name} came back without properties")
            for group in plan.groups or []:
                for ref in group.replication_protected_items or []:
                    if ref.id:
                        wanted.setdefault(ref.id.lower(), ref.id.rsplit("/", 1)[-1])
    seen: set[str] = set()
    healthy = failed_over = 0
    unhealthy: list[dict[str, Any]] = []
    rpos: list[float] = []
    for item in client.replication_protected_items.list(rg, vault):
        key = (item.id or "").lower()
        if (wanted is not None and key not in wanted) or key in seen:
            continue
        seen.add(key)
        props = item.properties
        if props is None:
            unhealthy.append({"name": item.name, "health": "Unknown", "errors": ["ASR returned no properties"]})
            continue
        name = props.friendly_name or item.name
        if (props.active_location or "").lower() == "recovery":
            failed_over += 1
            continue
        rpo = _rpo_seconds(props.provider_specific_details)
        if rpo is not None:
            rpos.append(rpo)
        health = props.replication_health or "Unknown"
        if health.lower() == "normal":
            healthy += 1
        else:
            unhealthy.append({"name": name, "health": health, "errors": _health_errors(props)})
    for key in sorted(set(wanted or {}) - seen):
        unhealthy.append(
            {
                "name": (wanted or {})[key],
                "health": "Missing",
                "errors": ["listed in a recovery plan but not a replication protected item of the vault"],
            }
        )
    unhealthy.sort(key=lambda u: (_SEVERITY.get(u["health"].lower(), 3), u["name"]))
    result = {
        "protected_items": len(seen) + len(set(wanted or {}) - seen),
        "healthy": healthy,
        "failed_over": failed_over,
        "unhealthy": unhealthy[:UNHEALTHY_LISTED],
        "unhealthy_total": len(unhealthy),
        "max_rpo_seconds": max(rpos) if rpos else None,
        "checked_at": datetime.now(UTC).isoformat(),
    }
    log(payload, "asr.health").info(
        "replication health",
        vault=vault,
        protected_items=result["protected_items"],
        healthy=healthy,
        unhealthy=len(unhealthy),
        max_rpo_seconds=result["max_rpo_seconds"],
    )
    return result


def asr_commit(payload: dict[str, Any]) -> dict[str, Any]:
    """Commit a recovery plan's failover (start, attach to, or skip the commit job). Returns the job name.

    Reads the plan first: a commit job running → `attached`; a commit that succeeded, or a plan whose
    `allowedOperations` offer `ReverseReplicate` but no `Commit` (ASR's committed state) → `skipped`;
    `Commit` allowed (failed over, or an earlier commit failed) → `started`. A plan that is not failed over
    (or whose failover still runs) cannot be committed: that raises, naming the plan's allowed operations.
    Watch the job with `asr_get_job`.
    """
    require(payload, "subscription_id", "resource_group", "vault", "recovery_plan")
    client = clients().site_recovery(payload["subscription_id"]).replication_recovery_plans
    rg, vault, name = payload["resource_group"], payload["vault"], payload["recovery_plan"]
    plan = client.get(rg, vault, name)
    if plan.properties is None:
        raise RuntimeError(f"recovery plan {name} came back without properties")
    scenario, job, status = _scenario(plan)
    allowed_operations = plan.properties.allowed_operations or []
    allowed = {op.lower() for op in allowed_operations}
    is_commit = scenario == "commitfailover"
    if is_commit and status == "InProgress":
        return {"recovery_plan": name, "action": "attached", "job": job}
    if is_commit and status == "Succeeded":
        return {"recovery_plan": name, "action": "skipped", "job": job, "reason": "already committed"}
    if "commit" not in allowed:
        if "reversereplicate" in allowed:
            return {"recovery_plan": name, "action": "skipped", "job": None, "reason": "already committed"}
        raise RuntimeError(
            f"recovery plan {name} cannot be committed now: allowed operations are "
            f"{sorted(allowed_operations) or 'none'}" + (f" ({scenario} {status})" if scenario else "")
        )
    try:
        client.begin_failover_commit(rg, vault, name, polling=False)
        action = "started"
    except ResourceExistsError:
        action = "attached"  # another caller started it between our read and our POST
    scenario, job, _ = _scenario(client.get(rg, vault, name))
    if scenario != "commitfailover" or not job:
        raise RuntimeError(f"recovery plan {name}: commit accepted but no commit job is reported in currentScenario")
    log(payload, "asr.commit").info("commit job", recovery_plan=name, job=job, action=action)
    return {"recovery_plan": name, "action": action, "job": job}


ACTIVITIES = [asr_resolve_recovery_plans, asr_start_failover, asr_get_job, asr_replication_health, asr_commit]

bp = df.Blueprint()
for _activity in ACTIVITIES:
    bp.activity_trigger(input_name="payload")(_activity)
