"""The recovery capacity step of a run (`yield from check(run, batches)`), before the approval card: what the
recovery plans will start in the recovery region against its quotas (`capacity_check`). A shortfall is a warning
on the card under the plan's `capacity: warn` policy; under `block` the run ends there, before anything is
changed (nobody signed out, no failover started).

A failover nobody approves (no card) under `warn` does not wait for the check: nothing it finds would change
what the run does, so it runs in the background (`Controlled.background`) beside the sign-out and the failover,
and is read (`collect`) when the run ends, for the run's warnings and report; a job that fails for quota reports
its VMs on its own (`report_failures`). The failover's critical path does not wait for it (issue 20: recovery
not slowed). Deterministic: no I/O but the activity.
"""

from __future__ import annotations

from typing import Any

from failover.batching import Batch
from failover.capacity import describe, describe_reservations, vm_failures
from failover.contracts.capacity import CapacityInput, session_host_needs
from orchestrations.common import ARM_RETRY

MODES = ("planned", "unplanned", "test")  # the modes that start VMs in the recovery region (not a failback)
WARNED_VMS = 3  # VMs named in a recovery plan's warning (the report lists every one)


def _deferred(run: Any) -> bool:
    """Nobody reads the result before the failover: `warn`, a failover (not a drill), no approval card."""
    return run.plan.capacity == "warn" and run.mode in ("planned", "unplanned") and run.policy.required <= 0


def check(run: Any, batches: list[Batch]):
    """Check the recovery region's capacity for the batches' recovery plans. Returns False when the plan's policy
    (`block`) refuses the run for a shortfall; True otherwise (also when the check could not read: a warning, and
    when it runs in the background)."""
    plan = run.plan
    names = list(dict.fromkeys(p.name for b in batches for p in b.recovery_plans))
    if run.mode not in MODES or run.cancel or not names:
        return True
    run.begin("capacity")
    payload = CapacityInput(
        **run.ids,
        **plan.vault_ref(),
        recovery_plans=names,
        recovery_region=plan.recovery_region,
        session_hosts=session_host_needs(plan),  # `recovery: provision`: built after the failover, counted now
    )
    task = run.context.call_activity_with_retry("capacity_check", ARM_RETRY, payload)
    if _deferred(run):
        run.capacity_task = task
        run.background.append(task)
        return True
    run.publish_status("checking recovery capacity")
    return (yield from _record(run, task))


def collect(run: Any):
    """The result of a check started in the background (waited for if it has not ended), recorded."""
    task, run.capacity_task = run.capacity_task, None
    if task is not None:
        if task in run.background:
            run.background.remove(task)
        yield from _record(run, task)


def _record(run: Any, task: Any):
    plan = run.plan
    try:
        result = yield from run.step(task)
        checked: dict[str, Any] = result.plain()
    except Exception as err:  # a person decides without it; the card says why
        why = str(err).splitlines()[0][:300] if str(err) else type(err).__name__
        run.warnings.append(f"recovery capacity could not be checked: {why}")
        run.capacity = {"policy": plan.capacity, "error": str(err)[:300]}
        run.end("capacity", "Failed")
        return True
    short = describe(checked)
    run.capacity = {**checked, "policy": plan.capacity, "short": bool(short)}
    beyond = describe_reservations(checked)
    if beyond:  # those VMs need quota: the quota rows count them, and the policy judges those
        run.warnings.append(f"recovery capacity in {plan.recovery_region}: {beyond}")
    if short and plan.capacity == "block":
        run.errors.append(
            f"recovery capacity in {plan.recovery_region} is short: {short}. The plan's capacity policy is block: the "
            "run was refused before anything was changed (nobody signed out, no failover started)"
        )
        run.end("capacity", "Failed")
        return False
    if short:
        run.warnings.append(
            f"recovery capacity in {plan.recovery_region} is short: {short} (capacity policy warn: the failover goes "
            "ahead; VMs that do not fit will fail, reported per VM)"
        )
    run.end("capacity", "Succeeded")
    return True


def report_failures(run: Any, recovery_plan: str, errors: list[str]) -> None:
    """A recovery plan's job failed: its VMs refused for quota or capacity go to the report one by one, with the
    shortfall (`capacity.refused`), and to the warnings as one line per recovery plan (the first VMs named: the
    custom status stays under Durable Functions' 16 KB)."""
    failures = vm_failures(errors)
    if not failures:
        return
    run.capacity_refused.extend(
        {"recovery_plan": recovery_plan, "vm": f["vm"], "code": f["code"], "shortfall": f["shortfall"]}
        for f in failures
    )
    named = "; ".join(f["text"] for f in failures[:WARNED_VMS])
    more = f" (+{len(failures) - WARNED_VMS} more VMs: the report lists each)" if len(failures) > WARNED_VMS else ""
    text = f"recovery capacity: recovery plan {recovery_plan}: {len(failures)} VMs not brought up: {named}{more}"
    if text not in run.warnings:
        run.warnings.append(text)
