"""Dependency steps of the runbook (SQL failover groups, storage account failover, NetApp replication, custom
webhook actions and their completion callbacks) and custom-action waves. Generators used by the run
(`yield from run_dependency(run, ...)`); deterministic; every wait has the control channel open (`run.step`,
`run.sleep_until`), and a dependency already started is watched to its end after a cancel."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from failover.contracts import Contract
from failover.contracts.dependencies import (
    SqlFailoverStartInput,
    SqlFailoverStatusInput,
    StorageFailoverStartInput,
    StorageFailoverStatusInput,
    WebhookInput,
)
from failover.contracts.netapp import NetAppBreakInput, NetAppBreakStatusInput
from failover.plan import (
    Dependency,
    Group,
    NetAppReplication,
    SqlFailoverGroup,
    StorageAccountFailover,
    WebhookAction,
)
from orchestrations.control import operator_decision

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
    poll = max(run.seconds(run.plan.asr.job_poll_interval), 0.05)
    while True:
        status = (yield from run.call(activity, payload)).plain()
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


def run_dependency(run: Any, dep: Dependency, wave: bool = False, cleanup: bool = False):
    """One dependency step (or, with `wave`, a custom-action group; with `cleanup`, a drill's cleanup call of
    one). Returns True when it succeeded (or was already done)."""
    step = f"{'action' if wave else 'dependency'}: {dep.name}"
    run.begin(step)
    run.publish_status(f"{'action' if wave else 'dependency'} {dep.name}")
    deadline = run.at(dep.timeout)
    result: dict[str, Any] = {"name": dep.name, "kind": dep.kind, "status": "Failed", "details": {}}
    try:
        if isinstance(dep, WebhookAction):
            yield from _webhook(run, dep, deadline, result, cleanup)
        else:
            payload = _dependency_payload(run, dep)
            start_activity, status_activity = LONG_RUNNING[dep.kind]
            started = (yield from run.call(start_activity, payload)).plain()
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


def _webhook(run: Any, dep: WebhookAction, deadline: datetime, result: dict[str, Any], cleanup: bool = False):
    """Call the webhook (with the run's mode), then wait for `POST /api/failovers/{id}/callbacks/{step}` or the
    timeout."""
    context = run.context
    nonce = str(context.new_uuid())
    expires = int(deadline.timestamp()) + 1
    payload = WebhookInput(
        **run.ids,
        step=dep.name,
        webhook=dep.webhook,
        body=dep.body,
        nonce=nonce,
        expires_at=expires,
        mode=run.mode,
        cleanup=cleanup,
    )
    run.callbacks[dep.name] = nonce  # the one callback this step accepts (single use: removed once taken)
    run.publish_status()
    called = yield from run.call("webhook_invoke", payload)
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
            run.callbacks_used[str(data.get("nonce"))] = str(data.get("request_id") or "")  # single use: the one taken
            run.publish_status()
            timer.cancel()
            result["details"].update({"callback_status": data.get("status"), "output": data.get("output")})
            if str(data.get("status", "")).lower() == "succeeded":
                result["status"] = "Succeeded"
            else:
                result["error"] = f"the action reported {data.get('status')}: {data.get('output') or ''}".strip()
            return


def run_action_group(run: Any, group: Group, cleanup: bool = False):
    """A custom-action wave (e.g. Hyper-V Replica failover of an Azure Local site by an Automation runbook): the
    webhook is called with the group's name as its step and the run's mode (planned, unplanned, test, failback),
    and the wave waits for the completion callback or the timeout. `cleanup`: a drill's cleanup of the test
    failover the action made (step `{group}-cleanup`, `cleanup: true`). Returns True when it succeeded."""
    assert group.action is not None
    action = WebhookAction(
        name=f"{group.name}-cleanup" if cleanup else group.name,
        kind="webhook",
        webhook=group.action.webhook,
        body=group.action.body,
        timeout=group.action.timeout,
    )
    return (yield from run_dependency(run, action, wave=True, cleanup=cleanup))


def dependencies_before(run: Any, group: str, first: bool):
    """The dependency steps due before this ASR group. A failed one waits for an operator (up to operator_wait):
    retry it, skip it (go on without it), or force it where forcing exists (a SQL failover group's failover
    allowing data loss, a NetApp replication's force break). Returns False when the run must stop there."""
    due = [d for d in run.plan.dependencies if d.before_group == group or (d.before_group is None and first)]
    for dep in due:
        if run.cancel:
            return False
        ok = yield from run_dependency(run, dep)
        while not ok and not run.cancel:
            decision = yield from _dependency_decision(run, dep)
            if decision == "skip":
                ok = True
            elif decision in ("retry", "force"):
                forced = _forced(dep) if decision == "force" else dep
                ok = yield from run_dependency(run, forced)
                if ok:  # the failure it recorded before is answered by this success
                    run.errors[:] = [e for e in run.errors if not e.startswith(f"dependency {dep.name} ({dep.kind}):")]
            else:
                break
        if not ok:
            run.errors.append(f"dependency {dep.name} failed: ASR group '{group}' and later steps were not started")
            return False
    return True


def _forced(dep: Dependency) -> Dependency:
    """The dependency as an operator's `force` runs it: a SQL failover group's forced failover allowing data
    loss (the primary cannot be reached), a NetApp volume's force break."""
    if isinstance(dep, SqlFailoverGroup):
        return dep.model_copy(update={"allow_data_loss": True})
    if isinstance(dep, NetAppReplication):
        return dep.model_copy(update={"force": True})
    return dep


def _dependency_decision(run: Any, dep: Dependency):
    """Wait for an operator's retry, skip or force of the failed dependency (`operator_decision`)."""
    loss = _data_loss_note(dep)
    data = {"dependency": dep.name, "kind": dep.kind, "force": loss is not None} | ({"data_loss": loss} if loss else {})
    decision = yield from operator_decision(run, dep.name, f"dependency/{dep.name}", data, forceable=loss is not None)
    if decision == "skip":
        run.plan_errors.pop(dep.name, None)  # the dependency's own error stays in the run's errors
    return decision


def _data_loss_note(dep: Dependency) -> str | None:
    """What forcing the dependency loses; None when it cannot be forced (or the plan already forces it)."""
    if isinstance(dep, SqlFailoverGroup) and not dep.allow_data_loss:
        return (
            "force runs forceFailoverAllowDataLoss: transactions not yet replicated to the secondary are lost "
            "(the failover group's replication lag; see readiness and the report's data-loss window)"
        )
    if isinstance(dep, NetAppReplication) and not dep.force:
        return "force breaks the replication while it transfers: data since the last completed transfer is lost"
    return None
