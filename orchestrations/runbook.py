"""Runbook steps around the recovery-plan failover: standby session hosts, verify with Azure Monitor Logs, the
Traffic Manager switch, and ASR operations watched to their end (reprotect, commit, drill cleanup). Dependency
steps are in `orchestrations.dependencies`. Generators used by the run (`yield from verify(run)`); deterministic:
no I/O but activities, no clock but the context's; every wait has the control channel open.

`run` is the orchestration's `Run` (its state, timers, control channel and event log).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from failover.contracts.asr import AsrJobInput, RecoveryPlanInput, ReprotectInput, TestCleanupInput
from failover.contracts.avd import NewSessionsInput
from failover.contracts.dependencies import (
    VmsInput,
)
from failover.contracts.network import IdentityStatusInput
from failover.contracts.traffic import TmEndpointInput
from failover.contracts.verify import AvdAgentHealthInput, HeartbeatInput, RecoveryPlanVmsInput
from orchestrations.common import ARM_RETRY, isoformat


def start_standby(run: Any):
    """Start the recovery region's deallocated session hosts, wait until running, allow new sessions."""
    standby = run.plan.standby
    if standby is None or run.cancel:
        return True
    run.begin("standby")
    run.publish_status("starting standby session hosts")
    ok = False
    try:
        vms = VmsInput(
            **run.ids,
            subscription_id=standby.vms.subscription_id or run.plan.subscription_id,
            resource_group=standby.vms.resource_group,
            vms=standby.vms.names,
        )
        yield from run.call("compute_start_vms", vms)
        running = yield from _poll_vms(run, vms, run.at(900.0))
        if running and run.cancel:
            run.errors.append("standby session hosts started; not opened to new sessions (cancelled)")
        elif running:
            allowed = yield from run.call(
                "avd_allow_new_sessions",
                NewSessionsInput(
                    **run.ids,
                    **run.plan.host_pool_ref(standby.host_pool),
                    allow=True,
                ),
            )
            run.standby = {"vms": standby.vms.names, "session_hosts": allowed.session_hosts}
            ok = True
        else:
            run.errors.append(f"standby session hosts did not all start: {', '.join(standby.vms.names)}")
    except Exception as err:
        run.errors.append(f"standby session hosts: {err}")
    run.end("standby", "Succeeded" if ok else "Failed")
    yield from run.events.publish("StandbyReady", "avd", {"ok": ok, "standby": run.standby})
    return ok


def _poll_vms(run: Any, vms: VmsInput, deadline: datetime):
    while True:
        states = yield from run.call("compute_vm_states", vms)
        if not states.not_running:
            return True
        if run.now() >= deadline:
            return False
        yield from run.sleep_until(min(deadline, run.now() + timedelta(seconds=run.seconds(30.0))))


def _heartbeat(run: Any, spec: Any, computers: list[str]):
    """Which of `computers` sent a Heartbeat to the verify workspace lately."""
    payload = HeartbeatInput(
        **run.ids, workspace_id=spec.workspace_id, computers=computers, minutes=spec.heartbeat_minutes
    )
    return (yield from run.call("logs_heartbeat", payload))


def verify(run: Any, drill: bool = False):
    """Heartbeat of the failed-over VMs and the domain controllers, AVD agent health of the recovery
    host pool, polled until healthy or the deadline. Sets run.verify = {"healthy", "checks"}.
    A drill checks the heartbeat of its test VMs only (they run in an isolated network)."""
    context, spec = run.context, run.plan.verify
    if spec is None:
        run.verify = {"healthy": True, "checks": [], "note": "no verify section in the plan"}
        return
    run.begin("verify")
    run.publish_status("verifying")
    succeeded = [p["name"] for p in run.final_plans() if p["state"] == "Succeeded"]
    computers: list[str] = []
    try:
        if succeeded:
            listed = yield from run.call(
                "asr_recovery_plan_vms", RecoveryPlanVmsInput(**run.plan.vault_ref(), recovery_plans=succeeded)
            )
            computers = sorted({vm for names in listed.vms.values() for vm in names})
    except Exception as err:
        run.errors.append(f"verify: cannot list the failed-over VMs: {err}")
    deadline = run.at(spec.timeout)
    checks: dict[str, dict[str, Any]] = {}
    poll = run.seconds(spec.poll_interval)
    while True:
        try:
            if computers:
                beat = yield from _heartbeat(run, spec, computers)
                checks["heartbeat"] = {
                    "name": "heartbeat",
                    "healthy": not beat.missing,
                    "reporting": len(beat.reporting),
                    "missing": beat.missing[:50],
                }
            if spec.domain_controllers and not drill:
                dcs = yield from _heartbeat(run, spec, spec.domain_controllers)
                checks["domain_controllers"] = {
                    "name": "domain_controllers",
                    "healthy": bool(dcs.reporting),  # at least one DC answers in or from the recovery region
                    "reporting": dcs.reporting,
                    "missing": dcs.missing,
                }
            identity: IdentityStatusInput | None = run.plan.identity_request(context.instance_id)
            if identity is not None and not drill:
                state = yield from run.call("identity_status", identity)
                checks["identity"] = {
                    "name": "identity",
                    "healthy": bool(state.available),  # a DC answers in or from the recovery region
                    "available": state.available,
                    "unavailable": [f"{u.name} ({u.reason})" for u in state.unavailable],
                    "gateways_connected": state.gateways_connected,
                }
            if spec.host_pool is not None and not drill:
                agents = yield from run.call(
                    "logs_avd_agent_health",
                    AvdAgentHealthInput(
                        **run.ids,
                        workspace_id=spec.workspace_id,
                        host_pool=spec.host_pool.name,
                        minutes=spec.heartbeat_minutes,
                    ),
                )
                checks["avd_agent_health"] = {
                    "name": "avd_agent_health",
                    "healthy": bool(agents.healthy) and not agents.unhealthy,
                    "healthy_hosts": len(agents.healthy),
                    "unhealthy": agents.unhealthy[:50],
                }
        except Exception as err:
            checks["logs"] = {"name": "logs", "healthy": False, "error": str(err)[:300]}
            break
        if all(c["healthy"] for c in checks.values()) or run.now() >= deadline:
            break
        yield from run.sleep_until(min(deadline, run.now() + timedelta(seconds=poll)), interruptible=True)
        if run.cancel:
            checks["cancelled"] = {"name": "cancelled", "healthy": False, "error": "verify stopped by the cancel"}
            break
    healthy = all(c["healthy"] for c in checks.values())
    run.verify = {"healthy": healthy, "checks": list(checks.values()), "checked_at": isoformat(run.now())}
    if not healthy:
        bad = ", ".join(c["name"] for c in checks.values() if not c["healthy"])
        run.errors.append(f"verify: not healthy by the deadline ({bad})")
    run.end("verify", "Succeeded" if healthy else "Failed")
    run.publish_status()
    yield from run.events.publish("VerifyCompleted", "verify", run.verify)


def switch_traffic_manager(run: Any):
    """Traffic Manager endpoint changes; the activity refuses a change that leaves no enabled endpoint
    or promotes an endpoint whose monitor says it is unhealthy."""
    plan = run.plan
    if not plan.dns.traffic_manager:
        return
    run.begin("traffic manager")
    run.publish_status("switching traffic manager")
    ok = True
    for endpoint in plan.dns.traffic_manager:
        if run.cancel:  # nothing new after a cancel: the endpoints not switched yet stay as they are
            ok = False
            run.errors.append(f"traffic manager {endpoint.label}: not switched (cancelled)")
            continue
        try:
            result = yield from run.call(
                "tm_set_endpoint",
                TmEndpointInput(
                    **run.ids,
                    subscription_id=endpoint.subscription_id or plan.subscription_id,
                    resource_group=endpoint.resource_group,
                    profile=endpoint.profile,
                    endpoint=endpoint.endpoint,
                    endpoint_type=endpoint.endpoint_type,
                    status=endpoint.status,
                    priority=endpoint.priority,
                    unhealthy_targets=[],
                ),
            )
            run.dns.append({**result.plain(), "kind": "traffic_manager"})
        except Exception as err:
            ok = False
            run.errors.append(f"traffic manager {endpoint.label}: {err}")
    run.end("traffic manager", "Succeeded" if ok else "Failed")
    yield from run.events.publish(
        "TrafficManagerSwitched", "dns", {"endpoints": [d for d in run.dns if d.get("kind") == "traffic_manager"]}
    )


# The ASR operations `plan_jobs` runs: activity -> its input (a recovery plan of the vault, plus `extra`).
PLAN_OPERATIONS: dict[str, type[RecoveryPlanInput]] = {
    "asr_test_cleanup": TestCleanupInput,
    "asr_reprotect": ReprotectInput,
    "asr_commit": RecoveryPlanInput,
}


def plan_jobs(run: Any, activity: str, recovery_plans: list[str], extra: dict[str, Any] | None = None):
    """Run one ASR operation (`asr_test_cleanup`, `asr_reprotect`, ...) on each recovery plan and watch the
    jobs it starts to their end (backed-off durable timers). Idempotent activities: a plan with nothing to
    do is skipped. Returns {plan: "Succeeded" | "Skipped" | "Failed: why"}; never raises."""
    context = run.context
    common = {**run.ids, **run.plan.vault_ref()}
    operation = PLAN_OPERATIONS[activity]
    outcome: dict[str, str] = {}
    jobs: dict[str, str] = {}
    for name in recovery_plans:
        try:
            started = yield from run.call(activity, operation(**common, **(extra or {}), recovery_plan=name))
        except Exception as err:
            outcome[name] = f"Failed: {err}"
            continue
        if started.action == "skipped" or not started.job:
            outcome[name] = "Skipped"
        else:
            jobs[name] = started.job
    deadline = run.at(run.plan.asr.job_timeout)
    poll = max(run.seconds(run.plan.asr.job_poll_interval), 0.05)
    while jobs:
        yield from run.sleep_until(min(deadline, run.now() + timedelta(seconds=poll)))  # jobs are watched to their end
        poll = min(poll * 2, max(run.seconds(run.plan.asr.job_poll_max), poll))
        reads = yield from run.step(
            context.task_all(
                [
                    context.call_activity_with_retry(
                        "asr_get_job", ARM_RETRY, AsrJobInput(**common, job=job, recovery_plan=name)
                    )
                    for name, job in jobs.items()
                ]
            )
        )
        for (name, _), job in zip(list(jobs.items()), reads, strict=True):
            if job.terminal:
                del jobs[name]
                outcome[name] = "Succeeded" if job.state == "Succeeded" else f"Failed: {'; '.join(job.errors)}"
        if jobs and run.now() >= deadline:
            for name in jobs:
                outcome[name] = "Failed: the job did not finish in time"
            break
    return {name: outcome[name] for name in recovery_plans if name in outcome}


def test_cleanup(run: Any, recovery_plans: list[str]):
    """Test failover cleanup of every recovery plan the drill touched; idempotent (a plan with nothing
    to clean up is skipped). Returns "done" or "failed"; never raises."""
    run.begin("cleanup")
    run.publish_status("cleaning up the drill")
    comment = run.plan.drill.cleanup_comment if run.plan.drill else "drill cleanup"
    outcome = yield from plan_jobs(run, "asr_test_cleanup", recovery_plans, {"comments": comment})
    failed = {k: v for k, v in outcome.items() if v.startswith("Failed")}
    for name, why in failed.items():
        run.errors.append(f"drill cleanup of {name}: {why.removeprefix('Failed: ')}")
    result = "failed" if failed else "done"
    run.cleanup = result
    run.end("cleanup", "Succeeded" if result == "done" else "Failed")
    run.publish_status()
    yield from run.events.publish("DrillCleanupCompleted", "drill", {"cleanup": result, "recovery_plans": outcome})
    return result
