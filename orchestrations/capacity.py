"""The recovery capacity step of a run (`yield from check(run, batches)`), before the approval card: what the
recovery plans will start in the recovery region against its quotas (`capacity_check`). A shortfall is a warning
on the card under the plan's `capacity: warn` policy; under `block` the run ends there, before anything is
changed (nobody signed out, no failover started). Deterministic: no I/O but the activity.
"""

from __future__ import annotations

from typing import Any

from failover.batching import Batch
from failover.capacity import describe, vm_failures
from failover.contracts.capacity import CapacityInput

MODES = ("planned", "unplanned", "test")  # the modes that start VMs in the recovery region (not a failback)


def check(run: Any, batches: list[Batch]):
    """Check the recovery region's capacity for the batches' recovery plans. Returns False when the plan's policy
    (`block`) refuses the run for a shortfall; True otherwise (also when the check could not read: a warning)."""
    plan = run.plan
    names = list(dict.fromkeys(p.name for b in batches for p in b.recovery_plans))
    if run.mode not in MODES or run.cancel or not names:
        return True
    run.begin("capacity")
    run.publish_status("checking recovery capacity")
    try:
        result = yield from run.call(
            "capacity_check",
            CapacityInput(**run.ids, **plan.vault_ref(), recovery_plans=names, recovery_region=plan.recovery_region),
        )
        checked: dict[str, Any] = result.plain()
    except Exception as err:  # a person decides without it; the card says why
        why = str(err).splitlines()[0][:300] if str(err) else type(err).__name__
        run.warnings.append(f"recovery capacity could not be checked: {why}")
        run.capacity = {"policy": plan.capacity, "error": str(err)[:300]}
        run.approval["capacity"] = run.capacity
        run.end("capacity", "Failed")
        return True
    short = describe(checked)
    run.capacity = {**checked, "policy": plan.capacity, "short": bool(short)}
    run.approval["capacity"] = run.capacity
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
    """A recovery plan's job failed: its VMs refused for quota or capacity, one warning each, with the shortfall."""
    for failure in vm_failures(errors):
        text = f"recovery capacity: recovery plan {recovery_plan}: {failure['text']}"
        if text not in run.warnings:
            run.warnings.append(text)
