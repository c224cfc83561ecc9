"""The failover orchestration: the region-evacuation runbook as a durable workflow.

Stages: resolve recovery plans and batches → approval gate (Teams card, `approval` event raced
against a durable timer) → AVD: drain, message users, grace period, log off → ASR: groups in order,
batches of ≤ batch_size VMs started batch_interval apart, each batch a sub-orchestration → DNS switch
→ summary. A CloudEvent is published at every step and the custom status always says where it is.

Deterministic: no I/O, no wall clock, no randomness, no settings reads. Plan durations are divided by
the run's `time_scale` (1 in production; the demo compresses 10-minute spacing into seconds).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

from failover.approval import timeout_outcome
from failover.batching import Batch, BatchPlanningError, RecoveryPlanRef, plan_batches
from failover.plan import Plan
from failover.run import overall_status, rto_seconds
from orchestrations.common import ARM_RETRY, NOTIFY_RETRY, EventLog, as_utc, isoformat


class _Run:
    """The run's visible state; `status()` is what `set_custom_status` publishes."""

    def __init__(self, context: Any, plan: Plan, spec: dict[str, Any]) -> None:
        self.context = context
        self.plan = plan
        self.mode: str = spec.get("mode") or plan.asr.mode
        self.scale = float(spec.get("time_scale") or 1.0)
        self.triggers: list[dict[str, Any]] = list(spec.get("triggers") or [])
        self.started_at = isoformat(self.now())
        self.stage = "starting"
        self.approval: dict[str, Any] = {
            "required": plan.approval.required,
            "approvers": plan.approval.approvers,
            "waiting": False,
            "decisions": [],
            "used": [],
            "expires_at": None,
        }
        self.sessions = {"found": 0, "logged_off": 0}
        self.batches: list[dict[str, Any]] = []  # planned batches (Batch.to_dict)
        self.batch_results: dict[int, dict[str, Any]] = {}
        self.batches_started = 0
        self.dns: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.events = EventLog(context, plan.name)

    def now(self) -> datetime:
        return as_utc(self.context.current_utc_datetime)

    def seconds(self, plan_seconds: float) -> float:
        return plan_seconds / self.scale

    def at(self, plan_seconds: float) -> datetime:
        return self.now() + timedelta(seconds=self.seconds(plan_seconds))

    def publish_status(self, stage: str | None = None) -> None:
        if stage:
            self.stage = stage
        vms_done = sum(r["vms"] for r in self.batch_results.values() if r["status"] == "Succeeded")
        self.context.set_custom_status(
            {
                "stage": self.stage,
                "plan": self.plan.name,
                "mode": self.mode,
                "started_at": self.started_at,
                "triggers": self.triggers,
                "approval": self.approval,
                "progress": {
                    "batches_total": len(self.batches),
                    "batches_started": self.batches_started,
                    "batches_done": len(self.batch_results),
                    "vms_total": sum(b["vms"] for b in self.batches),
                    "vms_failed_over": vms_done,
                    "sessions_found": self.sessions["found"],
                    "sessions_logged_off": self.sessions["logged_off"],
                },
                "batches": [self.batch_results.get(b["index"], {**b, "status": "Pending"}) for b in self.batches],
                "errors": self.errors,
            }
        )

    def summary(self, status: str) -> dict[str, Any]:
        finished = isoformat(self.now())
        results = [self.batch_results[b["index"]] for b in self.batches if b["index"] in self.batch_results]
        return {
            "instance_id": self.context.instance_id,
            "plan": self.plan.name,
            "mode": self.mode,
            "status": status,
            "approvals": [
                {"approver": d["approver"], "decision": d["decision"], "at": d["at"], "comment": d.get("comment")}
                for d in self.approval["decisions"]
            ],
            "sessions": dict(self.sessions),
            "batches": [
                {k: r[k] for k in ("group", "index", "recovery_plans", "vms", "started_at", "finished_at", "status")}
                for r in results
            ],
            "recovery_plans": [p for r in results for p in r.get("plans", [])],
            "vms_failed_over": sum(p["vms"] for r in results for p in r.get("plans", []) if p["state"] == "Succeeded"),
            "dns": [{"record": d["record"], "from": d["from"], "to": d["to"]} for d in self.dns],
            "events_published": self.events.published,
            "events_failed": self.events.failed,
            "triggers": self.triggers,
            "started_at": self.started_at,
            "finished_at": finished,
            "rto_seconds": rto_seconds(self.started_at, finished),
            "rto_target_seconds": self.seconds(self.plan.rto_target),
            "time_scale": self.scale,
            "errors": list(self.errors),
        }


def _resolve(run: _Run):  # type: ignore[no-untyped-def]
    """Read the vault's recovery plans and pack them into batches. Returns the batch list."""
    plan = run.plan
    resolved = yield run.context.call_activity_with_retry(
        "asr_resolve_recovery_plans",
        ARM_RETRY,
        {
            "instance_id": run.context.instance_id,
            "plan": plan.name,
            "subscription_id": plan.asr.subscription_id or plan.subscription_id,
            "resource_group": plan.asr.resource_group,
            "vault": plan.asr.vault,
            "groups": [{"name": g.name, "recovery_plans": g.recovery_plans} for g in plan.groups],
        },
    )
    if resolved["unmatched"]:
        missing = ", ".join(f"{u['group']}: {u['pattern']}" for u in resolved["unmatched"])
        raise BatchPlanningError(f"recovery plans not found in vault {plan.asr.vault}: {missing}")
    groups = [
        (g["name"], [RecoveryPlanRef(p["name"], p["vms"]) for p in g["recovery_plans"]]) for g in resolved["groups"]
    ]
    return plan_batches(groups, plan.batch_size)


def _approval_gate(run: _Run, batches: list[Batch]):  # type: ignore[no-untyped-def]
    """Post the card, then wait for decisions or the timeout. Returns True when approved."""
    context, plan = run.context, run.plan
    nonce = str(context.new_uuid())
    expires = run.at(plan.approval.timeout)
    run.approval.update(waiting=True, expires_at=isoformat(expires), nonce=nonce)
    run.publish_status("awaiting approval")
    expected = (
        run.seconds(plan.avd.grace_period)
        + run.seconds(plan.batch_interval) * max(0, len(batches) - 1)
        + run.seconds(plan.asr.expected_job_duration)
    )
    card = {
        "instance_id": context.instance_id,
        "plan": plan.name,
        "mode": run.mode,
        "trigger": run.triggers[0] if run.triggers else None,
        "primary_region": plan.primary_region,
        "recovery_region": plan.recovery_region,
        "vms": sum(b.vms for b in batches),
        "recovery_plans": sum(len(b.recovery_plans) for b in batches),
        "batches": len(batches),
        "sessions": None,
        "expected_seconds": expected * run.scale,  # the card speaks in plan (real) time
        "expires_at": isoformat(expires),
        "approvers": plan.approval.approvers,
        "nonce": nonce,
    }
    try:
        yield context.call_activity_with_retry("teams_post_approval_card", NOTIFY_RETRY, card)
    except Exception as err:  # Teams down: the gate still waits; an approver can use the API
        run.errors.append(f"approval card not delivered to Teams: {err}")
    yield from run.events.publish("ApprovalRequested", "approval", {"expires_at": isoformat(expires)})

    allowed = {a.lower() for a in plan.approval.approvers}
    approved_by: set[str] = set()
    outcome = None
    timer = context.create_timer(expires)
    while outcome is None:
        decision_task = context.wait_for_external_event("approval")
        winner = yield context.task_any([decision_task, timer])
        if winner is timer:
            outcome = timeout_outcome(plan.approval.on_timeout)
            run.approval["decisions"].append(
                {"approver": None, "decision": outcome, "at": isoformat(run.now()), "comment": "approval timed out"}
            )
            break
        decision = decision_task.result or {}
        approver = str(decision.get("approver") or "").lower()
        used = f"{decision.get('nonce')}:{approver}"
        if approver not in allowed or used in run.approval["used"] or decision.get("nonce") != nonce:
            continue  # the HTTP handler refuses these; an event raised some other way is ignored
        run.approval["used"].append(used)
        run.approval["decisions"].append(
            {
                "approver": approver,
                "decision": decision.get("decision"),
                "at": isoformat(run.now()),
                "comment": decision.get("comment"),
            }
        )
        if decision.get("decision") == "reject":
            outcome = "reject"
        else:
            approved_by.add(approver)
            if len(approved_by) >= plan.approval.required:
                outcome = "approve"
        run.publish_status()
    if winner is not timer:
        timer.cancel()  # decided before the deadline: the pending timer must not keep the run alive
    run.approval["waiting"] = False
    run.publish_status()
    approved = outcome == "approve"
    try:
        yield context.call_activity_with_retry(
            "teams_post_decision",
            NOTIFY_RETRY,
            {
                "instance_id": context.instance_id,
                "plan": plan.name,
                "outcome": "approved, failover starting" if approved else "rejected, nothing was changed",
                "decisions": run.approval["decisions"],
            },
        )
    except Exception as err:
        run.errors.append(f"decision message not delivered to Teams: {err}")
    yield from run.events.publish(
        "ApprovalDecided", "approval", {"outcome": outcome, "decisions": run.approval["decisions"]}
    )
    return approved


def _evacuate_avd(run: _Run):  # type: ignore[no-untyped-def]
    """Drain every host pool, message users, wait the grace period, log off what is left."""
    context, plan = run.context, run.plan
    if not plan.avd.host_pools:
        return
    run.publish_status("draining host pools")
    pools = []
    for pool in plan.avd.host_pools:
        ref = {
            "instance_id": context.instance_id,
            "plan": plan.name,
            "subscription_id": pool.subscription_id or plan.subscription_id,
            "resource_group": pool.resource_group,
            "host_pool": pool.name,
        }
        drained = yield context.call_activity_with_retry("avd_drain_host_pool", ARM_RETRY, ref)
        run.sessions["found"] += drained["sessions"]
        pools.append((ref, drained["session_hosts"]))
    yield from run.events.publish("SessionsDrained", "avd", {"sessions": run.sessions["found"]})

    run.publish_status("messaging users")
    yield context.task_all(
        [
            context.call_activity_with_retry(
                "avd_message_sessions",
                ARM_RETRY,
                {**ref, "session_host": host, "title": plan.avd.message.title, "body": plan.avd.message.body},
            )
            for ref, hosts in pools
            for host in hosts
        ]
    )
    run.publish_status("grace period")
    yield context.create_timer(run.at(plan.avd.grace_period))

    run.publish_status("logging off sessions")
    results = yield context.task_all(
        [
            context.call_activity_with_retry(
                "avd_log_off_sessions",
                ARM_RETRY,
                {**ref, "session_host": host, "concurrency": plan.avd.logoff_concurrency},
            )
            for ref, hosts in pools
            for host in hosts
        ]
    )
    for result in results:
        run.sessions["logged_off"] += result["logged_off"]
        for failure in result["failed"]:
            run.errors.append(
                f"session {failure['session_id']} of {failure['user']} on {failure['session_host']} "
                f"was not logged off: {failure['error']}"
            )
    yield from run.events.publish("SessionsLoggedOff", "avd", dict(run.sessions))


def _fail_over(run: _Run, batches: list[Batch]):  # type: ignore[no-untyped-def]
    """Groups in order; batches of a group started batch_interval apart. Returns False if a group stopped."""
    context, plan = run.context, run.plan
    run.publish_status("failing over")
    interval = timedelta(seconds=run.seconds(plan.batch_interval))
    asr = {
        "subscription_id": plan.asr.subscription_id or plan.subscription_id,
        "resource_group": plan.asr.resource_group,
        "vault": plan.asr.vault,
        "recovery_point_type": plan.asr.recovery_point_type,
        "source_site_operations": plan.asr.source_site_operations,
    }
    last_start: datetime | None = None
    dispatched: dict[int, str] = {}
    for group in plan.groups:
        group_batches = [b for b in batches if b.group == group.name]
        pending: dict[int, Any] = {}

        def finish(task: Any, running: dict[int, Any] = pending) -> Any:
            index = next(i for i, t in running.items() if t is task)
            del running[index]
            # A batch started when this orchestration dispatched it (the spacing rule's clock).
            result = {**task.result, "started_at": dispatched[index]}
            run.batch_results[index] = result
            for failed in (p for p in result["plans"] if p["state"] != "Succeeded"):
                reason = "; ".join(failed["errors"]) or failed["state"]
                run.errors.append(f"recovery plan {failed['name']} ({result['group']}): {failed['state']}: {reason}")
            run.publish_status()
            return result

        for batch in group_batches:
            # Batches start batch_interval apart; meanwhile, record batches that finish.
            while last_start is not None and run.now() < last_start + interval:
                timer = context.create_timer(last_start + interval)
                while True:
                    winner = yield context.task_any([timer, *pending.values()])
                    if winner is timer:
                        break
                    result = finish(winner)
                    yield from run.events.publish("BatchCompleted", f"batch/{result['index']}", _batch_event(result))
            last_start = run.now()
            dispatched[batch.index] = isoformat(last_start)
            spec = {
                "plan": plan.name,
                "batch": batch.to_dict(),
                "asr": asr,
                "mode": run.mode,
                "poll_seconds": run.seconds(plan.asr.job_poll_interval),
                "timeout_seconds": run.seconds(plan.asr.job_timeout),
            }
            pending[batch.index] = context.call_sub_orchestrator(
                "batch_orchestrator", spec, f"{context.instance_id}:batch-{batch.index}"
            )
            run.batches_started += 1
            run.publish_status()
            yield from run.events.publish(
                "BatchStarted",
                f"batch/{batch.index}",
                {
                    "group": batch.group,
                    "index": batch.index,
                    "vms": batch.vms,
                    "recovery_plans": [p.name for p in batch.recovery_plans],
                },
            )
        while pending:
            winner = yield context.task_any(list(pending.values()))
            result = finish(winner)
            yield from run.events.publish("BatchCompleted", f"batch/{result['index']}", _batch_event(result))
        failed = [
            run.batch_results[b.index] for b in group_batches if run.batch_results[b.index]["status"] != "Succeeded"
        ]
        if failed and group.on_failure == "stop":
            run.errors.append(f"group '{group.name}' failed; later groups were not started (on_failure: stop)")
            return False
    return True


def _batch_event(result: dict[str, Any]) -> dict[str, Any]:
    return {k: result[k] for k in ("group", "index", "vms", "status", "recovery_plans", "started_at", "finished_at")}


def _switch_dns(run: _Run):  # type: ignore[no-untyped-def]
    context, plan = run.context, run.plan
    if not plan.dns.records:
        return
    run.publish_status("switching dns")
    for record in plan.dns.records:
        result = yield context.call_activity_with_retry(
            "dns_switch_record",
            ARM_RETRY,
            {
                "instance_id": context.instance_id,
                "plan": plan.name,
                "subscription_id": record.subscription_id or plan.subscription_id,
                "resource_group": record.resource_group,
                "zone": record.zone,
                "name": record.name,
                "type": record.type,
                "target": record.target,
                "ttl": record.ttl,
            },
        )
        run.dns.append(result)
    yield from run.events.publish("DnsSwitched", "dns", {"records": run.dns})


def failover_orchestrator(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Input: `failover.run.build_run_input(...)`. Output: the run summary (see failover.run)."""
    spec: dict[str, Any] = context.get_input()
    plan = Plan.model_validate(spec["plan"])
    run = _Run(context, plan, spec)
    run.publish_status("reading recovery plans")
    yield from run.events.publish("RunStarted", "run", {"mode": run.mode, "triggers": run.triggers})

    try:
        batches: list[Batch] = yield from _resolve(run)
    except Exception as err:  # a plan that does not match the vault: nothing was touched
        run.errors.append(f"cannot plan batches: {err}")
        run.publish_status("failed")
        yield from run.events.publish("RunFailed", "run", {"errors": run.errors})
        return run.summary("Failed")
    run.batches = [b.to_dict() for b in batches]
    run.publish_status()

    if plan.approval.required > 0:
        approved = yield from _approval_gate(run, batches)
        if not approved:
            run.publish_status("rejected")
            yield from run.events.publish("RunRejected", "run", {"decisions": run.approval["decisions"]})
            return run.summary("Rejected")

    yield from _evacuate_avd(run)
    completed_groups = yield from _fail_over(run, batches)
    if completed_groups:
        yield from _switch_dns(run)
    else:
        run.errors.append("DNS was not switched because a group stopped the failover")

    results = [run.batch_results[i] for i in sorted(run.batch_results)]
    status = overall_status(results, run.errors) if completed_groups else "CompletedWithErrors"
    run.publish_status("completed" if status == "Completed" else "completed with errors")
    summary = run.summary(status)
    yield from run.events.publish(
        "RunCompleted",
        "run",
        {"status": status, "rto_seconds": summary["rto_seconds"], "vms_failed_over": summary["vms_failed_over"]},
    )
    summary["events_published"] = run.events.published
    summary["events_failed"] = run.events.failed
    return summary


bp = df.Blueprint()
bp.orchestration_trigger(context_name="context")(failover_orchestrator)
