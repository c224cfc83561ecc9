"""Azure Site Recovery activities: resolve recovery plans, start a failover, read a job.

`asr_start_failover` is idempotent: it reads the recovery plan first and attaches to a failover
job already running, skips a plan already failed over, and only then starts one. Jobs are watched
by the orchestration with durable timers, never by blocking here.
"""

from __future__ import annotations

import fnmatch
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
    return "commit" in allowed or (scenario in FAILOVER_SCENARIOS and status == "Succeeded")


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


ACTIVITIES = [asr_resolve_recovery_plans, asr_start_failover, asr_get_job]

bp = df.Blueprint()
for _activity in ACTIVITIES:
    bp.activity_trigger(input_name="payload")(_activity)
