"""Azure Site Recovery activities: resolve recovery plans, fail over (for real, as a drill, or back),
commit, clean up a drill, reprotect, read a job, check replication.

Every activity that starts an ASR job is idempotent: it reads the recovery plan first, attaches to a
job of its kind already running, skips a plan already where it should be, and only then posts. A 409
from that post (another caller was quicker, or ASR refuses the operation) is checked by reading the
plan again: attached when the plan now runs a job of that kind, else an error naming the plan's
allowed operations. Jobs are watched by the orchestration with durable timers (`asr_get_job`), never
by blocking here. `asr_replication_health` only reads, so it may run any number of times.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
from azure.core.exceptions import ResourceExistsError
from azure.mgmt.recoveryservicessiterecovery.models import (
    RecoveryPlanA2AFailoverInput,
    RecoveryPlanPlannedFailoverInput,
    RecoveryPlanPlannedFailoverInputProperties,
    RecoveryPlanProviderSpecificFailoverInput,
    RecoveryPlanTestFailoverCleanupInput,
    RecoveryPlanTestFailoverCleanupInputProperties,
    RecoveryPlanTestFailoverInput,
    RecoveryPlanTestFailoverInputProperties,
    RecoveryPlanUnplannedFailoverInput,
    RecoveryPlanUnplannedFailoverInputProperties,
)

from activities._common import arm, clients, log
from failover.contracts import StartAction
from failover.contracts.asr import (
    AsrJobInput,
    AsrJobResult,
    RecoveryPlanInput,
    RecoveryPlanJob,
    ReplicationHealthInput,
    ReplicationHealthResult,
    ReprotectInput,
    ResolvedGroup,
    ResolvedRecoveryPlan,
    ResolveRecoveryPlansInput,
    ResolveRecoveryPlansResult,
    StartFailoverInput,
    TestCleanupInput,
    UnhealthyItem,
    UnmatchedPattern,
)

FAILOVER_SCENARIOS = {"plannedfailover", "unplannedfailover"}
TEST_SCENARIO = "testfailover"
CLEANUP_SCENARIO = "testfailovercleanup"
REPROTECT_SCENARIOS = {"reversereplication", "reversereplicate", "reprotect"}  # ASR's plans say ReverseReplication
TERMINAL_JOB_STATES = {"Succeeded", "Failed", "Cancelled", "Suspended"}
TEST_CLEANUP_PENDING = "test failover already done; cleanup pending"
ALREADY_ON_PRIMARY = (
    "already on primary: the recovery plan's VMs are active in the primary region, nothing to fail back"
)
_ITEM_ID = re.compile(
    r"/replicationFabrics/([^/]+)/replicationProtectionContainers/([^/]+)/replicationProtectedItems/([^/]+)$",
    re.IGNORECASE,
)


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


def _a2a_details(payload: StartFailoverInput) -> list[RecoveryPlanProviderSpecificFailoverInput]:
    """The Azure-to-Azure provider input of a (test) failover: the recovery point to fail over to."""
    return [RecoveryPlanA2AFailoverInput(recovery_point_type=payload.recovery_point_type or "Latest")]


def _allowed(plan: Any) -> set[str]:
    return {op.lower() for op in plan.properties.allowed_operations or []}


def _describe(plan: Any) -> str:
    """The plan's allowed operations and current scenario, for error messages."""
    _, job, status = _scenario(plan)
    allowed = sorted(plan.properties.allowed_operations or []) or "none"
    current = plan.properties.current_scenario
    if current is None:
        return f"allowed operations are {allowed}"
    return f"allowed operations are {allowed}; current scenario {current.scenario_name} {status} (job {job})"


def _active_location(site: Any, rg: str, vault: str, plan: Any) -> str | None:
    """Where the plan's VMs are active (`Primary` | `Recovery`), read from its first protected item: the plan
    itself does not say (after reprotect it offers the same operations on either side). None: no items."""
    for group in plan.properties.groups or []:
        for ref in group.replication_protected_items or []:
            match = _ITEM_ID.search(ref.id or "")
            if match:
                item = site.replication_protected_items.get(rg, vault, *match.groups())
                return item.properties.active_location if item.properties else None
    return None


class _Refused(RuntimeError):
    """ASR refused an operation (409) and the plan runs no job of that kind."""


def _post(
    client: Any, rg: str, vault: str, name: str, post: Callable[[], Any], scenarios: set[str], what: str
) -> tuple[StartAction, str]:
    """POST an operation (without polling), then read the plan's current job: (`started` | `attached`, job).

    A 409 means a job of that kind already runs (another caller) - attached - or ASR refused: then the
    plan's current scenario is of another kind and this raises with ASR's message and the allowed operations.
    """
    refused: ResourceExistsError | None = None
    action: StartAction
    try:
        # Not idempotent: retried only when refused (429) or never sent; a lost answer goes up to the
        # activity's durable retry, which re-reads the plan and attaches to the job it finds.
        arm(post, idempotent=False)
        action = "started"
    except ResourceExistsError as err:
        action, refused = "attached", err  # another caller started it between our read and our POST?
    plan = client.get(rg, vault, name)
    scenario, job, _ = _scenario(plan)
    if scenario in scenarios and job:
        return action, job
    if refused is not None:
        detail = refused.error.message if refused.error is not None and refused.error.message else str(refused)
        raise _Refused(f"recovery plan {name}: ASR refused the {what}: {detail} ({_describe(plan)})")
    raise RuntimeError(f"recovery plan {name}: {what} accepted but no {what} job is reported in currentScenario")


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
                        name=name, vms=_vm_count(plans[name]), failed_over=_is_failed_over(plans[name])
                    )
                )
        groups.append(ResolvedGroup(name=group.name, recovery_plans=members))
    return ResolveRecoveryPlansResult(groups=groups, unmatched=unmatched)


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
        return RecoveryPlanJob(recovery_plan=name, job=job, action="attached")
    if _is_failed_over(plan):
        # A failback awaiting commit or reprotect looks the same on the plan: its items say where the VMs are.
        if _active_location(site, rg, vault, plan) != "Primary":
            return RecoveryPlanJob(recovery_plan=name, job=job, action="skipped", reason="already failed over")
        raise RuntimeError(
            f"recovery plan {name} was failed back to the primary region and does not replicate yet: commit and "
            f"reprotect it before failing over again ({_describe(plan)})"
        )
    if (scenario == TEST_SCENARIO and status == "InProgress") or "testfailovercleanup" in _allowed(plan):
        raise RuntimeError(
            f"recovery plan {name} cannot fail over while a test failover is running or awaits cleanup: clean up "
            f"the test failover first ({_describe(plan)})"
        )
    details = _a2a_details(payload)

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
        action, job = _post(client, rg, vault, name, post, FAILOVER_SCENARIOS, "failover")
    except _Refused:
        # Refused: a plan failed over, committed and reprotected offers the same operations as a protected one
        # but is active in the recovery region - that is "already failed over", not an error.
        if _active_location(site, rg, vault, plan) == "Recovery":
            return RecoveryPlanJob(recovery_plan=name, job=None, action="skipped", reason="already failed over")
        raise
    log(payload, "asr.failover").info("failover job", recovery_plan=name, job=job, action=action)
    return RecoveryPlanJob(recovery_plan=name, job=job, action=action)


def _start_test_failover(payload: StartFailoverInput, client: Any, plan: Any) -> RecoveryPlanJob:
    rg, vault, name = payload.resource_group, payload.vault, payload.recovery_plan
    network_type = payload.network_type or "VmNetworkAsInput"
    if network_type != "NoNetworkAttachAsInput" and not payload.network_id:
        raise ValueError("activity input is missing network_id")
    scenario, job, status = _scenario(plan)
    allowed = _allowed(plan)
    if scenario == TEST_SCENARIO and status == "InProgress":
        return RecoveryPlanJob(recovery_plan=name, job=job, action="attached")
    if "testfailovercleanup" in allowed:
        if scenario == TEST_SCENARIO and status == "Failed":
            raise RuntimeError(
                f"recovery plan {name}: its last test failover failed (job {job}); clean it up before a new one"
            )
        test_job = job if scenario == TEST_SCENARIO else None
        return RecoveryPlanJob(recovery_plan=name, job=test_job, action="skipped", reason=TEST_CLEANUP_PENDING)
    if "testfailover" not in allowed:
        raise RuntimeError(f"recovery plan {name} cannot be test-failed over now: {_describe(plan)}")
    details = _a2a_details(payload)
    properties = RecoveryPlanTestFailoverInputProperties(
        failover_direction="PrimaryToRecovery",
        network_type=network_type,
        network_id=payload.network_id if network_type != "NoNetworkAttachAsInput" else None,
        provider_specific_details=details,
    )
    action, job = _post(
        client,
        rg,
        vault,
        name,
        lambda: client.begin_test_failover(
            rg, vault, name, RecoveryPlanTestFailoverInput(properties=properties), polling=False
        ),
        {TEST_SCENARIO},
        "test failover",
    )
    log(payload, "asr.test_failover").info(
        "test failover job", recovery_plan=name, job=job, action=action, network_id=payload.network_id
    )
    return RecoveryPlanJob(recovery_plan=name, job=job, action=action)


def _start_failback(payload: StartFailoverInput, site: Any, plan: Any) -> RecoveryPlanJob:
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
    details = _a2a_details(payload)
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


def asr_test_cleanup(payload: TestCleanupInput) -> RecoveryPlanJob:
    """Clean up a recovery plan's test failover (start, attach to, or skip the cleanup job).

    Input: subscription_id, resource_group, vault, recovery_plan, and optionally comments (ASR keeps them
    with the job). Output: {recovery_plan, action: started | attached | skipped, job (None when skipped with
    nothing ever cleaned up), reason (when skipped)}. Attached while a cleanup job runs; skipped when no test
    failover awaits cleanup ("already cleaned up" after a cleanup, else "nothing to clean up: ..."), so a
    second run converges. A test failover still running raises (clean up once it ended, failed or not).
    Watch the job with `asr_get_job`.
    """
    client = clients().site_recovery(payload.subscription_id).replication_recovery_plans
    rg, vault, name = payload.resource_group, payload.vault, payload.recovery_plan
    plan = client.get(rg, vault, name)
    scenario, job, status = _scenario(plan)
    if scenario == CLEANUP_SCENARIO and status == "InProgress":
        return RecoveryPlanJob(recovery_plan=name, action="attached", job=job)
    if scenario == TEST_SCENARIO and status == "InProgress":
        raise RuntimeError(f"recovery plan {name}: its test failover still runs (job {job}); clean up once it ended")
    if "testfailovercleanup" not in _allowed(plan):
        if scenario == CLEANUP_SCENARIO and status == "Succeeded":
            return RecoveryPlanJob(recovery_plan=name, action="skipped", job=job, reason="already cleaned up")
        return RecoveryPlanJob(
            recovery_plan=name,
            action="skipped",
            job=None,
            reason="nothing to clean up: no test failover awaits cleanup",
        )
    cleanup = RecoveryPlanTestFailoverCleanupInput(
        properties=RecoveryPlanTestFailoverCleanupInputProperties(comments=payload.comments)
    )
    action, job = _post(
        client,
        rg,
        vault,
        name,
        lambda: client.begin_test_failover_cleanup(rg, vault, name, cleanup, polling=False),
        {CLEANUP_SCENARIO},
        "test failover cleanup",
    )
    log(payload, "asr.test_cleanup").info("test failover cleanup job", recovery_plan=name, job=job, action=action)
    return RecoveryPlanJob(recovery_plan=name, action=action, job=job)


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
    errors = []
    for error in props.errors or []:
        details = error.service_error_details
        if details and details.message:
            errors.append(f"{details.code}: {details.message}" if details.code else details.message)
    return AsrJobResult(
        job=payload.job,
        recovery_plan=payload.recovery_plan,
        state=props.state,
        terminal=props.state in TERMINAL_JOB_STATES,
        started_at=props.start_time.isoformat() if props.start_time else None,
        ended_at=props.end_time.isoformat() if props.end_time else None,
        errors=errors,
    )


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


def asr_replication_health(payload: ReplicationHealthInput) -> ReplicationHealthResult:
    """Replication readiness of the vault's protected items, for the approval card.

    Input: subscription_id, resource_group, vault, and optionally recovery_plans (names): then only
    the items those plans list in `groups[].replicationProtectedItems[].id` count, and an item a plan
    lists that the vault does not is reported unhealthy with health "Missing"; and direction
    (`PrimaryToRecovery`, the default, before a failover; `RecoveryToPrimary` before a failback, once
    reprotect made the recovery region replicate back).
    Output: protected_items (items counted), healthy (replicationHealth Normal and active on the
    direction's source side: Primary, or Recovery for RecoveryToPrimary), failed_over (already active on
    the direction's target side: neither healthy nor unhealthy), unhealthy (worst first, at most 50:
    name, health, errors; an item on the source side that does not replicate - health "None", e.g.
    committed but not reprotected - is unhealthy), unhealthy_total, max_rpo_seconds (highest RPO among
    items on the source side; None when none reports one), direction and checked_at.
    """
    direction = payload.direction
    target = "recovery" if direction == "PrimaryToRecovery" else "primary"
    client = clients().site_recovery(payload.subscription_id)
    rg, vault = payload.resource_group, payload.vault
    wanted: dict[str, str] | None = None  # lower-cased item id -> name, when limited to some plans
    names = payload.recovery_plans
    if names is not None:
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
        label = props.friendly_name or item.name
        if (props.active_location or "").lower() == target:
            failed_over += 1
            continue
        rpo = _rpo_seconds(props.provider_specific_details)
        if rpo is not None:
            rpos.append(rpo)
        health = props.replication_health or "Unknown"
        if health.lower() == "normal":
            healthy += 1
        else:
            errors = _health_errors(props)
            if not errors and health.lower() == "none":
                errors = [f"not replicating ({props.protection_state or 'unknown protection state'})"]
            unhealthy.append({"name": label, "health": health, "errors": errors})
    for key in sorted(set(wanted or {}) - seen):
        unhealthy.append(
            {
                "name": (wanted or {})[key],
                "health": "Missing",
                "errors": ["listed in a recovery plan but not a replication protected item of the vault"],
            }
        )
    unhealthy.sort(key=lambda u: (_SEVERITY.get(u["health"].lower(), 3), u["name"]))
    result = ReplicationHealthResult(
        protected_items=len(seen) + len(set(wanted or {}) - seen),
        healthy=healthy,
        failed_over=failed_over,
        unhealthy=[UnhealthyItem(**u) for u in unhealthy[:UNHEALTHY_LISTED]],
        unhealthy_total=len(unhealthy),
        max_rpo_seconds=max(rpos) if rpos else None,
        direction=direction,
        checked_at=datetime.now(UTC).isoformat(),
    )
    log(payload, "asr.health").info(
        "replication health",
        vault=vault,
        protected_items=result.protected_items,
        healthy=healthy,
        unhealthy=len(unhealthy),
        max_rpo_seconds=result.max_rpo_seconds,
        direction=direction,
    )
    return result


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
]

bp = df.Blueprint()
for _activity in ACTIVITIES:
    bp.activity_trigger(input_name="payload")(_activity)
