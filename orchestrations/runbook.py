"""Runbook steps around the recovery-plan failover: dependencies (SQL failover groups, storage account
failover, custom webhook actions), standby session hosts, verify with Azure Monitor Logs, and the
Traffic Manager switch. Generators used by `failover_orchestrator` (`yield from step(run, ...)`);
deterministic like it: no I/O but activities, no clock but the context's.

`run` is the orchestration's `_Run` (its state, timers, control channel and event log).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from failover.contracts import Contract
from failover.contracts.asr import AsrJobInput, RecoveryPlanInput, ReprotectInput, TestCleanupInput
from failover.contracts.avd import NewSessionsInput
from failover.contracts.dependencies import (
    SqlFailoverStartInput,
    SqlFailoverStatusInput,
    StorageFailoverStartInput,
    StorageFailoverStatusInput,
    VmsInput,
    WebhookInput,
)
from failover.contracts.netapp import NetAppBreakInput, NetAppBreakStatusInput
from failover.contracts.network import IdentityStatusInput
from failover.contracts.traffic import TmEndpointInput
from failover.contracts.verify import AvdAgentHealthInput, HeartbeatInput, RecoveryPlanVmsInput
from failover.plan import (
    Dependency,
    Group,
    NetAppReplication,
    SqlFailoverGroup,
    StorageAccountFailover,
    WebhookAction,
)
from orchestrations.common import ARM_RETRY, isoformat

CALLBACK_EVENT = "callback"
# kind -> (start activity, status activity) of the dependencies started by one call and watched to their end
LONG_RUNNING = {
    "sql_failover_group": ("sql_failover_start", "sql_failover_status"),
    "storage_account": ("storage_failover_start", "storage_failover_status"),
    "netapp_replication": ("netapp_break_start", "netapp_break_status"),
}


def _poll(run: Any, activity: str, payload: Contract, deadline: datetime):
    """Read a status activity until it says done or the deadline passes (durable timers in between;
    control events are handled meanwhile). Returns the last status (as JSON), or None at the deadline."""
    context = run.context
    poll = max(run.seconds(run.plan.asr.job_poll_interval), 0.05)
    while True:
        status = (yield from run.step(context.call_activity_with_retry(activity, ARM_RETRY, payload))).plain()
        if status.get("done"):
            return status
        if run.now() >= deadline:
            return None
        yield from run.sleep_until(min(deadline, run.now() + timedelta(seconds=poll)))  # the step is watched to its end
        poll = min(poll * 2, max(run.seconds(run.plan.asr.job_poll_max), poll))


LongRunningStart = SqlFailoverStartInput | StorageFailoverStartInput | NetAppBreakInput


def _dependency_payload(run: Any, dep: Dependency) -> LongRunningStart:
    """The start activity's input of a SQL failover group, a storage account or a NetApp volume."""
    common = {
        **run.ids,
        "subscription_id": dep.subscription_id or run.plan.subscription_id,
        "resource_group": dep.resource_group,
    }
    if isinstance(dep, SqlFailoverGroup):
        return SqlFailoverStartInput(
            **common, server=dep.server, failover_group=dep.failover_group, allow_data_loss=dep.allow_data_loss
        )
    if isinstance(dep, StorageAccountFailover):
        return StorageFailoverStartInput(**common, account=dep.account)
    assert isinstance(dep, NetAppReplication), dep.kind
    return NetAppBreakInput(**common, account=dep.account, pool=dep.pool, volume=dep.volume, force=dep.force)


def _status_payload(payload: LongRunningStart, started: dict[str, Any]) -> Contract:
    """The status activity's input of a dependency the start activity did not skip: the same target, and what
    the start answered to watch it by (`started`, as JSON)."""
    if isinstance(payload, SqlFailoverStartInput):
        return SqlFailoverStatusInput(
            **payload.model_dump(exclude={"allow_data_loss"}), operation=started.get("operation")
        )
    if isinstance(payload, NetAppBreakInput):
        return NetAppBreakStatusInput(**payload.model_dump(exclude={"force"}), operation=started.get("operation"))
    return StorageFailoverStatusInput(
        **payload.model_dump(exclude={"planned", "recovery_location"}),
        operation=started.get("operation"),
        primary_location_before=started.get("primary_location_before"),
    )


def run_dependency(run: Any, dep: Dependency, wave: bool = False):
    """One dependency step (or, with `wave`, a custom-action group). Returns True when it succeeded (or was
    already done)."""
    context = run.context
    step = f"{'action' if wave else 'dependency'}: {dep.name}"
    run.begin(step)
    run.publish_status(f"{'action' if wave else 'dependency'} {dep.name}")
    deadline = run.at(dep.timeout)
    result: dict[str, Any] = {"name": dep.name, "kind": dep.kind, "status": "Failed", "details": {}}
    try:
        if isinstance(dep, WebhookAction):
            yield from _webhook(run, dep, deadline, result)
        else:
            payload = _dependency_payload(run, dep)
            start_activity, status_activity = LONG_RUNNING[dep.kind]
            started = (
                yield from run.step(context.call_activity_with_retry(start_activity, ARM_RETRY, payload))
            ).plain()
            result["details"] = dict(started)
            if started.get("action") == "skipped":
                result["status"] = "Succeeded"
            else:
                final = yield from _poll(run, status_activity, _status_payload(payload, started), deadline)
                if final is None:
                    result["error"] = f"not finished within {run.seconds(dep.timeout):.0f}s"
                elif final.get("failed") or final.get("error"):
                    result["error"] = str(final.get("error") or "the failover failed")
                else:
                    result["status"] = "Succeeded"
                    result["details"].update(final)
    except Exception as err:  # an activity that failed after its retries
        result["error"] = str(err)
    if wave:
        result["kind"] = "custom_action"
        run.actions.append(result)
    else:
        run.dependencies.append(result)
    if result["status"] != "Succeeded":
        what = f"action group {dep.name}" if wave else f"dependency {dep.name} ({dep.kind})"
        run.errors.append(f"{what}: {result.get('error') or 'failed'}")
    run.end(step, result["status"])
    run.publish_status()
    subject = f"group/{dep.name}" if wave else f"dependency/{dep.name}"
    yield from run.events.publish("DependencyCompleted", subject, result)
    return result["status"] == "Succeeded"


def _webhook(run: Any, dep: WebhookAction, deadline: datetime, result: dict[str, Any]):
    """Call the webhook, then wait for `POST /api/failovers/{id}/callbacks/{step}` or the timeout."""
    context = run.context
    nonce = str(context.new_uuid())
    expires = int(deadline.timestamp()) + 1
    payload = WebhookInput(
        **run.ids, step=dep.name, webhook=dep.webhook, body=dep.body, nonce=nonce, expires_at=expires
    )
    run.callbacks[dep.name] = nonce  # the one callback this step accepts (single use: removed once taken)
    run.publish_status()
    called = yield from run.step(context.call_activity_with_retry("webhook_invoke", ARM_RETRY, payload))
    result["details"] = {"http_status": called.status}
    timer = context.create_timer(deadline)
    callback = None
    while True:
        if callback is None:
            callback = context.wait_for_external_event(CALLBACK_EVENT)
        winner = yield from run.wait_any([callback, timer])
        if winner is timer:
            run.callbacks.pop(dep.name, None)
            result["error"] = f"no completion callback within {run.seconds(dep.timeout):.0f}s"
            return
        if winner is callback:
            data = callback.result or {}
            callback = None
            if data.get("step") != dep.name or data.get("nonce") != run.callbacks.get(dep.name):
                continue  # a late or replayed callback (the HTTP handler refuses those; one raised otherwise)
            del run.callbacks[dep.name]
            run.publish_status()
            timer.cancel()
            result["details"].update({"callback_status": data.get("status"), "output": data.get("output")})
            if str(data.get("status", "")).lower() == "succeeded":
                result["status"] = "Succeeded"
            else:
                result["error"] = f"the action reported {data.get('status')}: {data.get('output') or ''}".strip()
            return


def run_action_group(run: Any, group: Group):
    """A custom-action wave (e.g. Hyper-V Replica failover of an Azure Local site by an Automation runbook): the
    webhook is called with the group's name as its step, and the wave waits for the completion callback or the
    timeout. Returns True when it succeeded."""
    assert group.action is not None
    action = WebhookAction(
        name=group.name,
        kind="webhook",
        webhook=group.action.webhook,
        body=group.action.body,
        timeout=group.action.timeout,
    )
    return (yield from run_dependency(run, action, wave=True))


def dependencies_before(run: Any, group: str, first: bool):
    """The dependency steps due before this ASR group. Returns False if one failed (the run stops)."""
    due = [d for d in run.plan.dependencies if d.before_group == group or (d.before_group is None and first)]
    for dep in due:
        if run.cancel:
            return False
        if not (yield from run_dependency(run, dep)):
            run.errors.append(f"dependency {dep.name} failed: ASR group '{group}' and later steps were not started")
            return False
    return True


def start_standby(run: Any):
    """Start the recovery region's deallocated session hosts, wait until running, allow new sessions."""
    context, standby = run.context, run.plan.standby
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
        yield from run.step(context.call_activity_with_retry("compute_start_vms", ARM_RETRY, vms))
        running = yield from _poll_vms(run, vms, run.at(900.0))
        if running and run.cancel:
            run.errors.append("standby session hosts started; not opened to new sessions (cancelled)")
        elif running:
            allowed = yield from run.step(
                context.call_activity_with_retry(
                    "avd_allow_new_sessions",
                    ARM_RETRY,
                    NewSessionsInput(
                        **run.ids,
                        **run.plan.host_pool_ref(standby.host_pool),
                        allow=True,
                    ),
                )
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
    context = run.context
    while True:
        states = yield from run.step(context.call_activity_with_retry("compute_vm_states", ARM_RETRY, vms))
        if not states.not_running:
            return True
        if run.now() >= deadline:
            return False
        yield from run.sleep_until(min(deadline, run.now() + timedelta(seconds=run.seconds(30.0))))


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
            listed = yield from run.step(
                context.call_activity_with_retry(
                    "asr_recovery_plan_vms",
                    ARM_RETRY,
                    RecoveryPlanVmsInput(**run.plan.vault_ref(), recovery_plans=succeeded),
                )
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
                beat = yield from run.step(
                    context.call_activity_with_retry(
                        "logs_heartbeat",
                        ARM_RETRY,
                        HeartbeatInput(
                            **run.ids,
                            workspace_id=spec.workspace_id,
                            computers=computers,
                            minutes=spec.heartbeat_minutes,
                        ),
                    )
                )
                checks["heartbeat"] = {
                    "name": "heartbeat",
                    "healthy": not beat.missing,
                    "reporting": len(beat.reporting),
                    "missing": beat.missing[:50],
                }
            if spec.domain_controllers and not drill:
                dcs = yield from run.step(
                    context.call_activity_with_retry(
                        "logs_heartbeat",
                        ARM_RETRY,
                        HeartbeatInput(
                            **run.ids,
                            workspace_id=spec.workspace_id,
                            computers=spec.domain_controllers,
                            minutes=spec.heartbeat_minutes,
                        ),
                    )
                )
                checks["domain_controllers"] = {
                    "name": "domain_controllers",
                    "healthy": bool(dcs.reporting),  # at least one DC answers in or from the recovery region
                    "reporting": dcs.reporting,
                    "missing": dcs.missing,
                }
            identity: IdentityStatusInput | None = run.plan.identity_request(context.instance_id)
            if identity is not None and not drill:
                state = yield from run.step(context.call_activity_with_retry("identity_status", ARM_RETRY, identity))
                checks["identity"] = {
                    "name": "identity",
                    "healthy": bool(state.available),  # a DC answers in or from the recovery region
                    "available": state.available,
                    "unavailable": [f"{u.name} ({u.reason})" for u in state.unavailable],
                    "gateways_connected": state.gateways_connected,
                }
            if spec.host_pool is not None and not drill:
                agents = yield from run.step(
                    context.call_activity_with_retry(
                        "logs_avd_agent_health",
                        ARM_RETRY,
                        AvdAgentHealthInput(
                            **run.ids,
                            workspace_id=spec.workspace_id,
                            host_pool=spec.host_pool.name,
                            minutes=spec.heartbeat_minutes,
                        ),
                    )
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
    context, plan = run.context, run.plan
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
            result = yield from run.step(
                context.call_activity_with_retry(
                    "tm_set_endpoint",
                    ARM_RETRY,
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
            started = yield from run.step(
                context.call_activity_with_retry(
                    activity, ARM_RETRY, operation(**common, **(extra or {}), recovery_plan=name)
                )
            )
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
