"""The recovery capacity step of a run (`yield from check(run, batches)`), before the approval card: what the
recovery plans will start in the recovery region (a failback's: in the primary region) against its quotas
(`capacity_check`). A shortfall is a warning on the card under the plan's `capacity: warn` policy; under `block`
the run ends there, before anything is changed (nobody signed out, no failover started; a failback: no reprotect).
A plan's run in an evacuation records the evacuation's check instead (`evacuation_check`: every plan of the
evacuation summed per subscription and recovery region, before the evacuation's card).

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
from failover.contracts.capacity import CapacityInput, RegionCapacityInput, session_host_needs
from failover.evacuation_capacity import regions, verdict
from failover.plan import Plan
from orchestrations.common import ARM_RETRY

MODES = ("planned", "unplanned", "test", "failback")  # the modes that start VMs (a failback: in the primary region)
WARNED_VMS = 3  # VMs named in a recovery plan's warning (the report lists every one)


def _deferred(run: Any) -> bool:
    """Nobody reads the result before the failover: `warn`, a failover (not a drill), no approval card."""
    return run.plan.capacity == "warn" and run.mode in ("planned", "unplanned") and run.policy.required <= 0


def region(run: Any) -> str:
    """Where the run's VMs come up: the recovery region, or for a failback the primary region."""
    return str(run.plan.primary_region if run.mode == "failback" else run.plan.recovery_region)


def check(run: Any, batches: list[Batch]):
    """Check the capacity of the region the batches' recovery plans come up in (a failback's: the primary region).
    Returns False when the plan's policy (`block`) refuses the run for a shortfall; True otherwise (also when the
    check could not read: a warning, and when it runs in the background). A plan's run in an evacuation records
    the evacuation's check of its region (every plan coming up there summed, `preapproved["capacity"]`) instead of
    reading again: the evacuation already refused what `block` refuses."""
    plan = run.plan
    names = list(dict.fromkeys(p.name for b in batches for p in b.recovery_plans))
    if run.mode not in MODES or run.cancel or not names:
        return True
    run.begin("capacity")
    given = (run.preapproved or {}).get("capacity")
    if given:
        yield from ()  # a generator like the others: nothing to wait for
        return _verdict(run, given)
    payload = CapacityInput(
        **run.ids,
        **plan.vault_ref(),
        recovery_plans=names,
        recovery_region=region(run),
        # `recovery: provision`: built after the failover (or in a drill), counted now; a failback builds none
        session_hosts=session_host_needs(plan) if run.mode != "failback" else [],
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
        run.warnings.append(f"{_what(run)} could not be checked: {why}")
        run.capacity = {"policy": plan.capacity, "error": str(err)[:300]}
        run.end("capacity", "Failed")
        return True
    return _verdict(run, {**checked, "policy": plan.capacity})


def _what(run: Any) -> str:
    return "primary region capacity for the failback" if run.mode == "failback" else "recovery capacity"


def _verdict(run: Any, checked: dict[str, Any]) -> bool:
    """Record a check (the run's own, or its evacuation's) under the plan's policy; False when `block` refuses."""
    plan = run.plan
    short = describe(checked)
    run.capacity = {**checked, "short": bool(short)}
    where = f"{_what(run)} in {region(run)}"
    together = (
        f" for the evacuation's plans together ({', '.join(checked['plans'])})" if checked.get("checked_by") else ""
    )
    starts = "failback" if run.mode == "failback" else "failover"
    beyond = describe_reservations(checked)
    if beyond:  # those VMs need quota: the quota rows count them, and the policy judges those
        run.warnings.append(f"{where}{together}: {beyond}")
    if short and plan.capacity == "block":
        unchanged = "no reprotect, no failback" if run.mode == "failback" else "nobody signed out, no failover"
        run.errors.append(
            f"{where} is short{together}: {short}. The plan's capacity policy is block: the run was refused before "
            f"anything was changed ({unchanged} started)"
        )
        run.end("capacity", "Failed")
        return False
    if short:
        run.warnings.append(
            f"{where} is short{together}: {short} (capacity policy warn: the {starts} goes ahead; VMs that do not fit "
            "will fail, reported per VM)"
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


def evacuation_check(context: Any, plans: list[Plan], groups: dict[str, Any]):
    """An evacuation's capacity check before its card: one `capacity_check_region` per (subscription, recovery
    region), all at once, every plan's recovery plans (`groups`: plan -> its groups, None when unread) summed
    there. Returns `failover.evacuation_capacity.verdict`'s check (a region that could not be read: its error)."""
    names = {n: [r.name for _, refs in g for r in refs] if g else None for n, g in groups.items()}
    asked = regions(plans, names)

    def read(request: dict[str, Any]) -> Any:
        payload = RegionCapacityInput(instance_id=context.instance_id, plan="evacuation", **request)
        return context.call_activity_with_retry("capacity_check_region", ARM_RETRY, payload)

    answers: list[dict[str, Any] | None] = [None] * len(asked)
    errors: list[str | None] = [None] * len(asked)
    try:  # read all at once; if one fails, one by one, so only that region says why
        found = yield context.task_all([read(request) for request in asked])
        answers = [answer.plain() for answer in found]
    except Exception:  # durabletask raises TaskFailedError, df a plain Exception
        for i, request in enumerate(asked):
            try:
                answers[i] = (yield read(request)).plain()
            except Exception as err:
                errors[i] = str(err).splitlines()[0][:300] if str(err) else type(err).__name__
    return verdict(plans, asked, answers, errors)
