"""Mode `test`, the drill: test failover of the recovery plans into their isolated networks, group by group and
batch by batch like a failover, verify the test VMs, then ALWAYS clean up (also after a failed plan, a cancel,
an error, or when a real failover supersedes the drill). Production is not touched: no AVD drain of the primary,
no dependencies, no standby start, no DNS or Traffic Manager change; the recovery host pool is kept closed to
new sessions while test session hosts may be up. A cancel arriving during the cleanup is recorded; the cleanup
goes on (it is what a cancel of a drill asks for)."""

from __future__ import annotations

from typing import Any

from failover.batching import Batch
from failover.contracts.avd import NewSessionsInput
from failover.run import isoformat, rto_seconds, rto_verdict
from orchestrations import runbook
from orchestrations.avd import close_test_host_pool
from orchestrations.dependencies import run_action_group
from orchestrations.dispatch import run_groups
from orchestrations.provision import provision_session_hosts, remove_provisioned
from orchestrations.run_state import Run


def drill(run: Run, batches: list[Batch], end_run: Any):
    """Returns the run's summary through `end_run(run, status, event, data, stage=None)`."""
    plan = run.plan
    if run.cleanup_only:
        return (yield from _cleanup_only(run, end_run))
    closed: dict[str, Any] | None = None
    try:
        closed = yield from close_test_host_pool(run)
        run.begin("failover")
        run.publish_status("test failover")
        outcome = yield from run_groups(
            run, batches, dependencies=False, operator_wait=False, what="tested", stage="test failover"
        )
        run.end("failover", "Cancelled" if outcome == "cancelled" else "Failed" if run.plan_errors else "Succeeded")
        if not run.cancel:  # `recovery: provision` pools: built, registered, closed to new sessions
            yield from provision_session_hosts(run, drill=True)
        if not run.cancel and not run.plan_errors:
            yield from runbook.verify(run, drill=True)
        achieved = rto_seconds(run.started_at, isoformat(run.now()))
        target = run.seconds(plan.rto_target)
        planned = {p["name"] for b in run.batches if not b.get("retry_of") for p in b["recovery_plans"]}
        met, note = rto_verdict(
            "Cancelled" if run.cancel else "Completed", planned, run.final_plans(), achieved, target
        )
        run.drill = {"rto_seconds": achieved, "rto_target_seconds": target, "rto_met": bool(met), "rto_note": note}
    except Exception as err:  # whatever happened, the test VMs must not be left behind
        run.errors.append(f"drill interrupted: {err}")
    if run.provisioned is not None:  # the drill's provisioned session hosts are not left behind
        yield from remove_provisioned(run, "drill cleanup")
    touched = list(dict.fromkeys(p["name"] for b in run.batches_dispatched() for p in b["recovery_plans"]))
    yield from runbook.test_cleanup(run, touched)
    # the custom actions that ran in the drill (a Hyper-V Replica test failover of an Azure Local site) clean up too
    called = {a["name"] for a in run.actions}
    for group in (g for g in plan.groups if g.action is not None and g.name in called):
        if not (yield from run_action_group(run, group, cleanup=True)):
            run.cleanup = "failed"
    if closed and closed.get("changed_hosts"):  # reopen what the drill closed, nothing else
        ok = True
        try:
            reopen = NewSessionsInput(**closed["ref"], session_hosts=closed["changed_hosts"], allow=True)
            yield from run.call("avd_allow_new_sessions", reopen)
        except Exception as err:
            ok = False
            run.errors.append(f"drill: session hosts {', '.join(closed['changed_hosts'])} not reopened: {err}")
        yield from run.events.publish(
            "HostPoolsReopened", "avd", {"ok": ok, "session_hosts": closed["changed_hosts"], "drill": True}
        )
    if run.cancel:
        run.errors.append(f"drill cancelled by {run.cancel.get('by')}; test failover cleaned up: {run.cleanup}")
        return (yield from end_run(run, "Cancelled", "RunCancelled", {"cancel": run.cancel_record()}))
    final = [{"status": p["state"]} for p in run.final_plans()]
    healthy = (run.verify or {}).get("healthy", True)
    status = "Completed" if not run.all_errors() and healthy and final else "CompletedWithErrors"
    return (
        yield from end_run(
            run,
            status,
            "DrillCompleted",
            {"drill": run.drill, "cleanup": run.cleanup},
        )
    )


def _cleanup_only(run: Run, end_run: Any):
    """`POST /api/drills/cleanup`: clean up the test failovers an earlier drill left (running or awaiting
    cleanup, read from ASR when the run resolved the plan); nothing else."""
    leftovers = list(run.leftover_drills)
    if leftovers:
        yield from runbook.test_cleanup(run, leftovers)
    else:
        run.cleanup = "done"
        run.warnings.append("no test failover awaited cleanup: nothing to do")
    status = "Completed" if run.cleanup == "done" and not run.all_errors() else "CompletedWithErrors"
    return (
        yield from end_run(
            run, status, "DrillCompleted", {"cleanup": run.cleanup, "cleanup_only": True, "recovery_plans": leftovers}
        )
    )
