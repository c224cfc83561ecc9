"""Azure Site Recovery activities: resolve recovery plans, fail over (for real, as a drill, or back),
commit, clean up a drill, reprotect, read a job, check replication.

Every activity that starts an ASR job is idempotent: it reads the recovery plan first, attaches to a
job of its kind already running, skips a plan already where it should be, and only then posts. A 409
from that post (another caller was quicker, or ASR refuses the operation) is checked by reading the
plan again: attached when the plan now runs a job of that kind, else an error naming the plan's
allowed operations. Jobs are watched by the orchestration with durable timers (`asr_get_job`), never
by blocking here. `asr_replication_health` only reads, so it may run any number of times.

Drills (test failover and cleanup) are in `activities.asr_drills`, replication health in `activities.asr_health`,
where Azure Local VMs run in `activities.asr_placement`,
what they share in `activities._asr`; this module registers them all, and every name imports from here.
"""

from __future__ import annotations

import fnmatch
from typing import Any

import azure.durable_functions as df
from azure.core.exceptions import ResourceExistsError

from activities._asr import (
    CLEANUP_SCENARIO,
    FAILOVER_SCENARIOS,
    REPROTECT_SCENARIOS,
    TEST_SCENARIO,
    _active_location,
    _allowed,
    _describe,
    _is_failed_over,
    _post,
    _post_job,
    _provider_details,
    _Refused,
    _scenario,
    _scenario_start,
    _vm_count,
)
from activities._common import clients, log
from activities.asr_drills import TEST_CLEANUP_PENDING, _start_test_failover, asr_test_cleanup
from activities.asr_health import ERROR_CHARS, ERRORS_PER_ITEM, UNHEALTHY_LISTED, asr_replication_health
from activities.asr_placement import asr_vm_placement
from failover.contracts import StartAction
from failover.contracts.asr import (
    AsrJobInput,
    AsrJobResult,
    RecoveryPlanInput,
    RecoveryPlanJob,
    ReprotectInput,
    ResolvedGroup,
    ResolvedRecoveryPlan,
    ResolveRecoveryPlansInput,
    ResolveRecoveryPlansResult,
    StartFailoverInput,
    UnmatchedPattern,
)

__all__ = [
    "ACTIVITIES",
    "ALREADY_ON_PRIMARY",
    "CLEANUP_SCENARIO",
    "ERRORS_PER_ITEM",
    "ERROR_CHARS",
    "FAILOVER_SCENARIOS",
    "REPROTECT_SCENARIOS",
    "TERMINAL_JOB_STATES",
    "TEST_CLEANUP_PENDING",
    "TEST_SCENARIO",
    "UNHEALTHY_LISTED",
    "asr_commit",
    "asr_get_job",
    "asr_replication_health",
    "asr_reprotect",
    "asr_resolve_recovery_plans",
    "asr_start_failover",
    "asr_test_cleanup",
    "asr_vm_placement",
    "bp",
]

TERMINAL_JOB_STATES = {"Succeeded", "Failed", "Cancelled", "Suspended"}
ALREADY_ON_PRIMARY = (
    "already on primary: the recovery plan's VMs are active in the primary region, nothing to fail back"
)


def asr_resolve_recovery_plans(payload: ResolveRecoveryPlansInput) -> ResolveRecoveryPlansResult:
    """List the vault's recovery plans and resolve each group's names and patterns to plans + VM counts."""
    client = clients().site_recovery(payload.subscription_id)
    plans = {p.name: p for p in client.replication_recovery_plans.list(payload.resource_group, payload.vault) if p.name}
    claimed: set[str] = set()
    groups = []
    unmatched = []
    for group in payload.groups:
        members = []
        for pattern in group.recovery_plans:
            names = sorted(n for n in plans if fnmatch.fnmatchcase(n.lower(), pattern.lower()) and n not in claimed)
            if not names:
                unmatched.append(UnmatchedPattern(group=group.name, pattern=pattern))
            for name in names:
                claimed.add(name)
                members.append(
                    ResolvedRecoveryPlan(
                        name=name,
                        vms=_vm_count(plans[name]),
                        failed_over=_is_failed_over(plans[name]),
                        test_failover_pending=_test_failover_pending(plans[name]),
                        failover_refused=_failover_refused(plans[name]),
                    )
                )
        groups.append(ResolvedGroup(name=group.name, recovery_plans=members))
    return ResolveRecoveryPlansResult(groups=groups, unmatched=unmatched)


def _test_failover_pending(plan: Any) -> bool:
    """A test failover of the plan is running or awaits its cleanup (what ASR refuses a failover for)."""
    scenario, _, status = _scenario(plan)
    return (scenario == TEST_SCENARIO and status == "InProgress") or "testfailovercleanup" in _allowed(plan)


def _failover_refused(plan: Any) -> str | None:
    """Why ASR would refuse a failover of the plan now, when it is not failed over, has no drill awaiting cleanup
    and runs no job, yet its `allowedOperations` offer neither failover (e.g. replication not yet protected)."""
    _, _, status = _scenario(plan)
    if _is_failed_over(plan) or _test_failover_pending(plan) or status == "InProgress":
        return None
    if _allowed(plan) & {"plannedfailover", "unplannedfailover"}:
        return None
    return f"ASR offers no failover of it now ({_describe(plan)})"


def asr_start_failover(payload: StartFailoverInput) -> RecoveryPlanJob:
    """Start (or attach to, or skip) a failover of one recovery plan. Returns the job name.

    Input: subscription_id, resource_group, vault, recovery_plan, mode, and optionally recovery_point_type
    (default `Latest`); for `unplanned` source_site_operations (default `NotRequired`); for `test` network_id
    (the isolated VNet's resource id; required unless network_type is `NoNetworkAttachAsInput`) and
    network_type (default `VmNetworkAsInput`).
    Modes: `planned` / `unplanned`: a failover PrimaryToRecovery. `test`: a test failover PrimaryToRecovery
    into network_id. `failback`: a planned failover RecoveryToPrimary of a reprotected plan.
    Output: {recovery_plan, job, action: started | attached | skipped, reason (when skipped)}: attached when a
    job of that mode runs; skipped when a real failover finds the plan failed over ("already failed over"), a
    test failover finds one awaiting cleanup ("test failover already done; cleanup pending"), a failback finds
    the plan's VMs active on the primary ("already on primary: ..."). A plan that cannot do the mode now (e.g.
    a failover while a drill awaits cleanup, a failback before reprotect, a new drill after a failed one not
    cleaned up) raises, naming the plan's allowed operations.
    """
    from azure.mgmt.recoveryservicessiterecovery.models import (
        RecoveryPlanPlannedFailoverInput,
        RecoveryPlanPlannedFailoverInputProperties,
        RecoveryPlanUnplannedFailoverInput,
        RecoveryPlanUnplannedFailoverInputProperties,
    )

    mode = payload.mode
    site = clients().site_recovery(payload.subscription_id)
    client = site.replication_recovery_plans
    rg, vault, name = payload.resource_group, payload.vault, payload.recovery_plan
    plan = client.get(rg, vault, name)
    if mode == "test":
        return _start_test_failover(payload, client, plan)
    if mode == "failback":
        return _start_failback(payload, site, plan)
    scenario, job, status = _scenario(plan)
    if scenario in FAILOVER_SCENARIOS and status == "InProgress":
        return RecoveryPlanJob(recovery_plan=name, job=job, action="attached", started_at=_scenario_start(plan))
    if _is_failed_over(plan):
        # A failback awaiting commit or reprotect looks the same on the plan: its items say where the VMs are.
        if _active_location(site, rg, vault, plan) != "Primary":
            return RecoveryPlanJob(recovery_plan=name, job=job, action="skipped", reason="already failed over")
        raise RuntimeError(
            f"recovery plan {name} was failed back to the primary region and does not replicate yet: commit and "
            f"reprotect it before failing over again ({_describe(plan)})"
        )
    if _test_failover_pending(plan):
        raise RuntimeError(
            f"recovery plan {name} cannot fail over while a test failover is running or awaits cleanup: clean up "
            f"the test failover first ({_describe(plan)})"
        )
    details = _provider_details(payload)

    def post() -> Any:
        if mode == "planned":
            return client.begin_planned_failover(
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
        return client.begin_unplanned_failover(
            rg,
            vault,
            name,
            RecoveryPlanUnplannedFailoverInput(
                properties=RecoveryPlanUnplannedFailoverInputProperties(
                    failover_direction="PrimaryToRecovery",
                    source_site_operations=payload.source_site_operations or "NotRequired",
                    provider_specific_details=details,
                )
            ),
            polling=False,
        )

    try:
        # The 202's operation status is not the job: the plan's current scenario names the job.
        action, job, started_at = _post_job(client, rg, vault, name, post, FAILOVER_SCENARIOS, "failover")
    except _Refused:
        # Refused: a plan failed over, committed and reprotected offers the same operations as a protected one
        # but is active in the recovery region - that is "already failed over", not an error.
        if _active_location(site, rg, vault, plan) == "Recovery":
            return RecoveryPlanJob(recovery_plan=name, job=None, action="skipped", reason="already failed over")
        raise
    log(payload, "asr.failover").info("failover job", recovery_plan=name, job=job, action=action)
    return RecoveryPlanJob(recovery_plan=name, job=job, action=action, started_at=started_at)


def _start_failback(payload: StartFailoverInput, site: Any, plan: Any) -> RecoveryPlanJob:
    from azure.mgmt.recoveryservicessiterecovery.models import (
        RecoveryPlanPlannedFailoverInput,
        RecoveryPlanPlannedFailoverInputProperties,
    )

    client = site.replication_recovery_plans
    rg, vault, name = payload.resource_group, payload.vault, payload.recovery_plan
    scenario, job, status = _scenario(plan)
    location = _active_location(site, rg, vault, plan)
    if scenario in FAILOVER_SCENARIOS and status == "InProgress":
        if location == "Recovery":  # items move when the job ends: active on Recovery, a failback runs
            return RecoveryPlanJob(recovery_plan=name, job=job, action="attached")
        raise RuntimeError(
            f"recovery plan {name}: a failover to the recovery region is running (job {job}), not a failback"
        )
    if location != "Recovery":
        return RecoveryPlanJob(
            recovery_plan=name,
            job=job if scenario in FAILOVER_SCENARIOS else None,
            action="skipped",
            reason=ALREADY_ON_PRIMARY,
        )
    if "plannedfailover" not in _allowed(plan):
        raise RuntimeError(
            f"recovery plan {name} cannot fail back now: it must be reprotected (replicating RecoveryToPrimary) "
            f"first ({_describe(plan)})"
        )
    details = _provider_details(payload, "RecoveryToPrimary")
    failback = RecoveryPlanPlannedFailoverInput(
        properties=RecoveryPlanPlannedFailoverInputProperties(
            failover_direction="RecoveryToPrimary", provider_specific_details=details
        )
    )
    action, job = _post(
        client,
        rg,
        vault,
        name,
        lambda: client.begin_planned_failover(rg, vault, name, failback, polling=False),
        FAILOVER_SCENARIOS,
        "failback",
    )
    log(payload, "asr.failback").info("failback job", recovery_plan=name, job=job, action=action)
    return RecoveryPlanJob(recovery_plan=name, job=job, action=action)


def asr_reprotect(payload: ReprotectInput) -> RecoveryPlanJob:
    """Reprotect a recovery plan after a committed failover or failback (start, attach to, or skip the job).

    Input: subscription_id, resource_group, vault, recovery_plan, and optionally direction
    (`PrimaryToRecovery` | `RecoveryToPrimary`): the direction the plan should replicate in afterwards
    (RecoveryToPrimary after a failover, PrimaryToRecovery after a failback); when given, a plan that would
    replicate the other way raises instead of being reprotected or skipped.
    Output: {recovery_plan, action: started | attached | skipped, job, reason (when skipped)}. Attached while a
    reprotect job runs; `ReverseReplicate` allowed (committed) → started; skipped when the plan replicates
    already (reason "already protected: replicating <direction>"). A failover not committed yet, or a job of
    another kind running, raises naming the allowed operations. Watch the job with `asr_get_job`.
    """
    wanted = payload.direction
    site = clients().site_recovery(payload.subscription_id)
    client = site.replication_recovery_plans
    rg, vault, name = payload.resource_group, payload.vault, payload.recovery_plan
    plan = client.get(rg, vault, name)
    scenario, job, status = _scenario(plan)
    allowed = _allowed(plan)
    if scenario in REPROTECT_SCENARIOS and status == "InProgress":
        return RecoveryPlanJob(recovery_plan=name, action="attached", job=job)
    replicating = allowed & {"plannedfailover", "unplannedfailover", "testfailover", "testfailovercleanup"}
    if "reversereplicate" not in allowed and not replicating:
        raise RuntimeError(f"recovery plan {name} cannot be reprotected now: {_describe(plan)}")
    # After reprotect a plan replicates from where its VMs are active.
    location = _active_location(site, rg, vault, plan)
    direction = "RecoveryToPrimary" if location == "Recovery" else "PrimaryToRecovery"
    if wanted is not None and direction != wanted:
        state = "replicates" if replicating else "would replicate after reprotect"
        raise RuntimeError(f"recovery plan {name} {state} {direction}, not {wanted} ({_describe(plan)})")
    if replicating:
        return RecoveryPlanJob(
            recovery_plan=name,
            action="skipped",
            job=job if scenario in REPROTECT_SCENARIOS else None,
            reason=f"already protected: replicating {direction}",
        )
    action, job = _post(
        client,
        rg,
        vault,
        name,
        lambda: client.begin_reprotect(rg, vault, name, polling=False),
        REPROTECT_SCENARIOS,
        "reprotect",
    )
    log(payload, "asr.reprotect").info("reprotect job", recovery_plan=name, job=job, action=action, direction=direction)
    return RecoveryPlanJob(recovery_plan=name, action=action, job=job)


def asr_get_job(payload: AsrJobInput) -> AsrJobResult:
    """Read an ASR job: state, times and ASR's own error text when it failed."""
    client = clients().site_recovery(payload.subscription_id)
    job = client.replication_jobs.get(payload.resource_group, payload.vault, payload.job)
    props = job.properties
    if props is None:
        raise RuntimeError(f"ASR job {payload.job} came back without properties")
    errors = _error_texts(props.errors)
    warnings: list[str] = []
    if props.state not in ("Failed", "Cancelled"):  # a task that failed while the job went on
        for task in props.tasks or []:
            if task.state == "Failed":
                warnings.extend(_error_texts(task.errors) or [f"{task.friendly_name or task.name} failed"])
    return AsrJobResult(
        job=payload.job,
        recovery_plan=payload.recovery_plan,
        state=props.state,
        terminal=props.state in TERMINAL_JOB_STATES,
        started_at=props.start_time.isoformat() if props.start_time else None,
        ended_at=props.end_time.isoformat() if props.end_time else None,
        errors=errors,
        warnings=warnings,
        recovery_points=_recovery_points(props.custom_details),
    )


def _recovery_points(details: Any) -> dict[str, str]:
    """A failover job's VMs and the recovery point time each came up from (`FailoverJobDetails`); empty for other
    jobs and before a VM's recovery point is known."""
    points: dict[str, str] = {}
    for item in getattr(details, "protected_item_details", None) or []:
        name, at = item.friendly_name or item.name, item.recovery_point_time
        if name and at is not None:
            points[name] = at.isoformat()
    return points


def _error_texts(errors: Any) -> list[str]:
    texts = []
    for error in errors or []:
        details = error.service_error_details
        if details and details.message:
            texts.append(f"{details.code}: {details.message}" if details.code else details.message)
    return texts


def asr_commit(payload: RecoveryPlanInput) -> RecoveryPlanJob:
    """Commit a recovery plan's failover (start, attach to, or skip the commit job). Returns the job name.

    Reads the plan first: a commit job running → `attached`; a commit that succeeded, or a plan whose
    `allowedOperations` offer `ReverseReplicate` but no `Commit` (ASR's committed state) → `skipped`;
    `Commit` allowed (failed over, or an earlier commit failed) → `started`. A plan that is not failed over
    (or whose failover still runs) cannot be committed: that raises, naming the plan's allowed operations.
    A failback (planned failover RecoveryToPrimary) is committed the same way. Watch the job with `asr_get_job`.
    """
    client = clients().site_recovery(payload.subscription_id).replication_recovery_plans
    rg, vault, name = payload.resource_group, payload.vault, payload.recovery_plan
    plan = client.get(rg, vault, name)
    if plan.properties is None:
        raise RuntimeError(f"recovery plan {name} came back without properties")
    scenario, job, status = _scenario(plan)
    allowed_operations = plan.properties.allowed_operations or []
    allowed = {op.lower() for op in allowed_operations}
    is_commit = scenario == "commitfailover"
    if is_commit and status == "InProgress":
        return RecoveryPlanJob(recovery_plan=name, action="attached", job=job)
    if is_commit and status == "Succeeded":
        return RecoveryPlanJob(recovery_plan=name, action="skipped", job=job, reason="already committed")
    if "commit" not in allowed:
        if "reversereplicate" in allowed:
            return RecoveryPlanJob(recovery_plan=name, action="skipped", job=None, reason="already committed")
        raise RuntimeError(
            f"recovery plan {name} cannot be committed now: allowed operations are "
            f"{sorted(allowed_operations) or 'none'}" + (f" ({scenario} {status})" if scenario else "")
        )
    action: StartAction
    try:
        client.begin_failover_commit(rg, vault, name, polling=False)
        action = "started"
    except ResourceExistsError:
        action = "attached"  # another caller started it between our read and our POST
    scenario, job, _ = _scenario(client.get(rg, vault, name))
    if scenario != "commitfailover" or not job:
        raise RuntimeError(f"recovery plan {name}: commit accepted but no commit job is reported in currentScenario")
    log(payload, "asr.commit").info("commit job", recovery_plan=name, job=job, action=action)
    return RecoveryPlanJob(recovery_plan=name, action=action, job=job)


ACTIVITIES = [
    asr_resolve_recovery_plans,
    asr_start_failover,
    asr_get_job,
    asr_replication_health,
    asr_commit,
    asr_test_cleanup,
    asr_reprotect,
    asr_vm_placement,
]


bp = df.Blueprint()
for _activity in ACTIVITIES:
    bp.activity_trigger(input_name="payload")(_activity)
