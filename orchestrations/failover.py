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

from failover.batching import Batch, groups_from_resolved, plan_batches
from failover.contracts import Contract, Mode
from failover.contracts.asr import ReplicationHealthInput
from failover.contracts.avd import HostPoolDrainInput, NewSessionsInput, SessionHostInput, SessionMessageInput
from failover.contracts.batch import BatchInput, BatchResult
from failover.contracts.dns import DnsRecordInput, DnsSwitchInput
from failover.contracts.network import PreflightInput
from failover.contracts.notify import ApprovalCardInput, ApprovalDecision, TeamsDecisionInput
from failover.contracts.run import RunInput, RunSummary
from failover.contracts.traffic import TmEndpointInput
from failover.plan import DnsRecord, HostPoolRef, Plan
from failover.run import overall_status, rto_seconds
from orchestrations import runbook
from orchestrations.common import ARM_RETRY, NOTIFY_RETRY, EventLog, as_utc, isoformat

CONTROL_EVENT = "control"  # operator and trigger events: cancel, retry, skip, trigger, resolved
APPROVAL_EVENT = "approval"


class _Interrupted:
    """What `_Run.wait_any` returns when a control event changed what the caller must do."""


INTERRUPTED = _Interrupted()
STATUS_TRIGGERS = 3  # alert notifications listed in the custom status besides the first
STATUS_BATCH_ROWS = 24  # batches listed in the custom status; beyond, the ones that matter now and per-group counts


def _status_batch(entry: dict[str, Any]) -> dict[str, Any]:
    """A batch as the custom status lists it: group, index, VMs, status, its plans' names, and each plan's VMs
    and state only while they differ from the batch's (a partly failed batch); no job ids, times or errors
    (those are in the summary, errors also in the status's `errors`). A 10,000-VM plan's 101 batches fit."""
    slim = {k: entry[k] for k in ("group", "index", "vms", "status", "retry_of") if entry.get(k) is not None}
    slim["recovery_plans"] = [p["name"] if isinstance(p, dict) else p for p in entry.get("recovery_plans") or []]
    plans = entry.get("plans")
    if isinstance(plans, list) and any(p.get("state") != "Succeeded" for p in plans):
        slim["plans"] = [{k: p.get(k) for k in ("name", "vms", "state")} for p in plans]
    return slim


class _Run:
    """The run's visible state; `status()` is what `set_custom_status` publishes."""

    def __init__(self, context: Any, plan: Plan, spec: RunInput) -> None:
        self.context = context
        self.plan = plan
        self.mode: Mode = spec.mode
        self.scale = spec.time_scale
        self.triggers: list[dict[str, Any]] = list(spec.triggers)
        self.requested_by: str | None = spec.requested_by
        self.reason: str | None = spec.reason
        self.started_at = isoformat(self.now())
        self.stage = "starting"
        self.policy = plan.approval.for_mode(self.mode)
        self.approval: dict[str, Any] = {
            "required": self.policy.required,
            "approvers": self.policy.approvers,
            "on_timeout": self.policy.on_timeout,
            "allow_requester": self.policy.allow_requester,
            "requested_by": self.requested_by,
            "waiting": False,
            "escalated": False,
            "decisions": [],
            "used": {},  # "nonce:approver" -> request id of the accepted decision (single use)
            "expires_at": None,
        }
        self.sessions = {"found": 0, "logged_off": 0}
        self.messages: dict[str, Any] = {"sent": 0, "failed": []}  # the warning to users before log-off
        self.batches: list[dict[str, Any]] = []  # planned batches (Batch.to_dict), retries appended
        self.batch_results: dict[int, dict[str, Any]] = {}
        self.batches_started = 0
        self.dns: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.plan_errors: dict[str, str] = {}  # recovery plan -> why it failed (cleared by a successful retry)
        self.blocked: list[str] = []  # failed plans of a stopped group, waiting for retry or skip
        self.retry_queue: list[str] = []
        self.skipped: list[dict[str, Any]] = []
        self.operator_actions: list[dict[str, Any]] = []
        self.cancel: dict[str, Any] | None = None
        self.resolved: dict[str, Any] | None = None
        self.steps: list[dict[str, Any]] = []
        self.dependencies: list[dict[str, Any]] = []
        self.actions: list[dict[str, Any]] = []  # custom-action groups (waves that are not ASR recovery plans)
        self.preflight: dict[str, Any] | None = None  # network and identity checks before the proposal
        self.standby: dict[str, Any] | None = None
        self.verify: dict[str, Any] | None = None
        self.cleanup: str | None = None  # drills: "done" | "failed"
        self.drill: dict[str, Any] | None = None
        self.events = EventLog(context, plan.name)
        self._control: Any = None

    def now(self) -> datetime:
        return as_utc(self.context.current_utc_datetime)

    def seconds(self, plan_seconds: float) -> float:
        return plan_seconds / self.scale

    def at(self, plan_seconds: float) -> datetime:
        return self.now() + timedelta(seconds=self.seconds(plan_seconds))

    # ---- steps ---------------------------------------------------------------------------------
    def begin(self, name: str) -> None:
        self.steps.append({"name": name, "status": "Running", "started_at": isoformat(self.now()), "finished_at": None})

    def end(self, name: str, status: str = "Succeeded") -> None:
        for step in reversed(self.steps):
            if step["name"] == name and step["finished_at"] is None:
                step.update(status=status, finished_at=isoformat(self.now()))
                return

    def all_errors(self) -> list[str]:
        return self.errors + list(self.plan_errors.values())

    # ---- control channel ---------------------------------------------------------------------
    def control_task(self) -> Any:
        if self._control is None:
            self._control = self.context.wait_for_external_event(CONTROL_EVENT)
        return self._control

    def wait_any(self, tasks: list[Any]):
        """task_any over `tasks` and the control channel. Records triggers and resolutions as they come;
        returns INTERRUPTED after a cancel, retry or skip (the caller looks at the run's state), else the
        task that finished."""
        while True:
            control = self.control_task()
            winner = yield self.context.task_any([*tasks, control])
            if winner is not control:
                return winner
            self._control = None
            if (yield from self.on_control(control.result or {})):
                return INTERRUPTED

    def sleep_until(self, when: datetime):
        """A durable timer that keeps the control channel open: triggers, a cancel or an operator's action
        arriving meanwhile are recorded (the caller looks at `run.cancel` afterwards)."""
        timer = self.context.create_timer(when)
        while (yield from self.wait_any([timer])) is not timer:
            continue

    def on_control(self, event: dict[str, Any]):
        """Apply one control event. Returns True when the caller must look at the run's state."""
        action = event.get("action")
        at = isoformat(self.now())
        if action == "trigger" and isinstance(event.get("trigger"), dict):
            trigger = event["trigger"]
            known = {(t.get("alert_id"), t.get("monitor_condition")) for t in self.triggers}
            if (trigger.get("alert_id"), trigger.get("monitor_condition")) not in known:
                self.triggers.append({**trigger, "attached_at": at})
                self.publish_status()
            return False
        if action == "resolved" and isinstance(event.get("trigger"), dict) and self.resolved is None:
            self.resolved = {**event["trigger"], "received_at": at}
            self.publish_status()
            yield from self.events.publish("IncidentResolved", "run", {"trigger": event["trigger"]})
            waiting = self.approval["waiting"]
            cancels = waiting and self.policy.cancel_on_resolved
            try:
                yield self.context.call_activity_with_retry(
                    "teams_post_decision",
                    NOTIFY_RETRY,
                    TeamsDecisionInput(
                        **self.ids,
                        outcome="the incident was resolved"
                        + ("; the run is cancelled, nothing was changed" if cancels else "; the run goes on"),
                        decisions=[],
                        note=str(event["trigger"].get("title") or ""),
                    ),
                )
            except Exception as err:
                self.errors.append(f"resolution message not delivered to Teams: {err}")
            if cancels:
                self.cancel = {"by": "alert", "reason": "the incident was resolved before approval", "at": at}
                return True
            return False
        if action == "cancel" and self.cancel is None:
            self.cancel = {"by": event.get("by"), "reason": event.get("reason"), "at": at}
            self.operator_actions.append({"action": "cancel", "by": event.get("by"), "at": at})
            self.publish_status()
            return True
        if action in ("retry", "skip") and event.get("recovery_plan") in self.blocked:
            name = event["recovery_plan"]
            self.operator_actions.append({"action": action, "recovery_plan": name, "by": event.get("by"), "at": at})
            self.blocked.remove(name)
            if action == "retry":
                self.retry_queue.append(name)
            else:
                self.skipped.append({"name": name, "by": event.get("by"), "at": at})
                self.plan_errors[name] = f"{self.plan_errors.get(name, name)} (skipped by {event.get('by')})"
            self.publish_status()
            return True
        return False

    @property
    def ids(self) -> dict[str, str]:
        """The run's instance id and plan name: the first two fields of every activity input (for its logs)."""
        return {"instance_id": self.context.instance_id, "plan": self.plan.name}

    def status_triggers(self) -> list[dict[str, Any]]:
        """The alert notifications the custom status lists (the summary keeps them all): the first, which
        started the run and names its incident, and the last STATUS_TRIGGERS. Every copy of an alert would
        otherwise add ~670 characters to a status Durable Functions caps at 16 KB of UTF-16 JSON."""
        return self.triggers[:1] + self.triggers[max(1, len(self.triggers) - STATUS_TRIGGERS) :]

    def publish_status(self, stage: str | None = None) -> None:
        if stage:
            self.stage = stage
        if self.context.is_replaying and getattr(self.context, "drops_replayed_status", False):
            return  # the local engine keeps the status an earlier episode set: building it again is wasted work
        vms_done = sum(r["vms"] for r in self.batch_results.values() if r["status"] == "Succeeded")
        self.context.set_custom_status(
            {
                "stage": self.stage,
                "plan": self.plan.name,
                "mode": self.mode,
                "started_at": self.started_at,
                "requested_by": self.requested_by,
                "reason": self.reason,
                "triggers": self.status_triggers(),  # the first (it names the incident) and the latest
                "triggers_total": len(self.triggers),
                "resolved": self.resolved,
                "approval": self.approval,
                "progress": {
                    "batches_total": len(self.batches),
                    "batches_started": self.batches_started,
                    "batches_done": len(self.batch_results),
                    "vms_total": sum(b["vms"] for b in self.batches if not b.get("retry_of")),
                    "vms_failed_over": vms_done,
                    "sessions_found": self.sessions["found"],
                    "sessions_logged_off": self.sessions["logged_off"],
                },
                **self.status_batches(),
                "operator": {
                    "blocked": self.blocked,
                    "skipped": self.skipped,
                    "actions": self.operator_actions,
                    "cancel": self.cancel,
                },
                "steps": self.steps,
                "dependencies": self.dependencies,
                "actions": self.actions,
                "preflight": self.preflight,
                "verify": self.verify,
                "errors": self.all_errors(),
            }
        )

    def status_batches(self) -> dict[str, Any]:
        """The batches as the custom status lists them. Up to STATUS_BATCH_ROWS, every batch (`batches`). Beyond
        (a 10,000-VM plan has 101), which would pass Durable Functions' 16 KB status, the rows that matter now (failed,
        running, the next to start, the latest done; started ones marked `Running`, as the list no longer shows
        their order) and `batch_groups`, each group's counts, from which the live view draws its group lines."""
        rows = [_status_batch(self.batch_results.get(b["index"], {**b, "status": "Pending"})) for b in self.batches]
        if len(rows) <= STATUS_BATCH_ROWS:
            return {"batches": rows}
        started = max(0, self.batches_started - sum(1 for b in self.batches if b.get("retry_of")))
        position = 0
        for row in rows:  # planned batches start in list order; a retry batch is listed once dispatched
            if row["status"] == "Pending" and (row.get("retry_of") or position < started):
                row["status"] = "Running"
            position += 0 if row.get("retry_of") else 1
        groups: dict[str, dict[str, Any]] = {}
        for row in rows:
            group = groups.setdefault(
                row["group"],
                {
                    "group": row["group"],
                    "batches": 0,
                    "done": 0,
                    "failed": 0,
                    "running": 0,
                    "vms": 0,
                    "vms_failed_over": 0,
                },
            )
            group["batches"] += 1
            group["vms"] += 0 if row.get("retry_of") else row["vms"]
            group["done"] += row["status"] in ("Succeeded", "Failed")
            group["failed"] += row["status"] == "Failed"
            group["running"] += row["status"] == "Running"
            if row["status"] == "Succeeded":
                group["vms_failed_over"] += row["vms"]
            elif row["status"] == "Failed":
                group["vms_failed_over"] += sum(
                    p.get("vms") or 0 for p in row.get("plans") or [] if p["state"] == "Succeeded"
                )
        rank = {"Failed": 0, "Running": 1, "Pending": 2, "Succeeded": 3}
        pending = [r["index"] for r in rows if r["status"] == "Pending"]
        done = [r["index"] for r in rows if r["status"] == "Succeeded"]
        order = {i: n for n, i in enumerate(pending)} | {i: -n for n, i in enumerate(done)}  # next first, latest first
        chosen = sorted(rows, key=lambda r: (rank[r["status"]], order.get(r["index"], 0)))[:STATUS_BATCH_ROWS]
        keep = {r["index"] for r in chosen}
        return {"batches": [r for r in rows if r["index"] in keep], "batch_groups": list(groups.values())}

    def final_plans(self) -> list[dict[str, Any]]:
        """Each recovery plan's last attempt (a retry replaces the failed attempt)."""
        latest: dict[str, dict[str, Any]] = {}
        for index in sorted(self.batch_results):
            for entry in self.batch_results[index].get("plans", []):
                latest[entry["name"]] = entry
        return list(latest.values())

    def waves(self) -> list[dict[str, Any]]:
        """The groups in order, ASR recovery plans and custom actions alike, with what became of each."""
        out: list[dict[str, Any]] = []
        plans = self.final_plans()
        for group in self.plan.groups:
            if group.action is not None:
                done = next((a for a in self.actions if a["name"] == group.name), None)
                status = done["status"] if done else ("Skipped" if self.mode in ("test", "failback") else "NotStarted")
                out.append(
                    {"group": group.name, "kind": "custom_action", "webhook": group.action.webhook, "status": status,
                     "error": (done or {}).get("error")}
                )  # fmt: skip
                continue
            mine = [p for p in plans if group.matches(p["name"])]
            ok = [p for p in mine if p["state"] == "Succeeded"]
            status = "NotStarted" if not mine else "Succeeded" if len(ok) == len(mine) else "Failed"
            out.append(
                {"group": group.name, "kind": "asr", "recovery_plans": len(mine), "vms": sum(p["vms"] for p in mine),
                 "status": status}
            )  # fmt: skip
        return out

    def summary(self, status: str) -> dict[str, Any]:
        finished = isoformat(self.now())
        results = [self.batch_results[b["index"]] for b in self.batches if b["index"] in self.batch_results]
        plans = self.final_plans()
        return {
            "instance_id": self.context.instance_id,
            "plan": self.plan.name,
            "mode": self.mode,
            "status": status,
            "requested_by": self.requested_by,
            "reason": self.reason,
            "approvals": [
                {"approver": d["approver"], "decision": d["decision"], "at": d["at"], "comment": d.get("comment")}
                for d in self.approval["decisions"]
            ],
            "sessions": dict(self.sessions),
            "messages": self.messages,
            "batches": [
                {k: r[k] for k in ("group", "index", "recovery_plans", "vms", "started_at", "finished_at", "status")}
                for r in results
            ],
            "recovery_plans": plans,
            "vms_failed_over": sum(p["vms"] for p in plans if p["state"] == "Succeeded"),
            "dns": [{"record": d["record"], "from": d["from"], "to": d["to"]} for d in self.dns],
            "dependencies": self.dependencies,
            "waves": self.waves(),
            "preflight": self.preflight,
            "standby": self.standby,
            "verify": self.verify or {"healthy": False, "checks": [], "note": "verify did not run"},
            "cleanup": self.cleanup,
            "drill": self.drill,
            "operator": {"skipped": self.skipped, "actions": self.operator_actions, "cancel": self.cancel},
            "steps": self.steps,
            "events_published": self.events.published,
            "events_failed": self.events.failed,
            "triggers": self.triggers,
            "resolved": self.resolved,
            "started_at": self.started_at,
            "finished_at": finished,
            "rto_seconds": rto_seconds(self.started_at, finished),
            "rto_target_seconds": self.seconds(self.plan.rto_target),
            "time_scale": self.scale,
            "errors": self.all_errors(),
        }


def _resolve(run: _Run):
    """Read the vault's recovery plans and pack them into batches. Returns the batch list."""
    plan = run.plan
    resolved = yield run.context.call_activity_with_retry(
        "asr_resolve_recovery_plans", ARM_RETRY, plan.resolve_request(run.context.instance_id)
    )
    groups = groups_from_resolved(resolved, plan.asr.vault)
    return plan_batches(groups, plan.batch_size)


def _card(
    run: _Run, batches: list[Batch], expires: datetime, nonce: str, readiness: dict[str, Any]
) -> ApprovalCardInput:
    plan, policy = run.plan, run.policy
    expected = (
        run.seconds(plan.avd.grace_period)
        + run.seconds(plan.batch_interval) * max(0, len(batches) - 1)
        + run.seconds(plan.asr.expected_job_duration)
        + sum(run.seconds(g.action.expected_duration) for g in plan.groups if g.action and run.mode != "test")
    )
    reason = run.reason
    preflight = run.preflight or {}
    if preflight.get("status") in ("warn", "fail"):  # approvers see what is not ready before they decide
        lines = "; ".join(
            f"{c['name']} {c['status']}: {c['message']}" for c in preflight["checks"] if c["status"] != "pass"
        )
        reason = f"{reason + ' — ' if reason else ''}NOT READY: {lines}"
    return ApprovalCardInput(
        **run.ids,
        mode=run.mode,
        trigger=run.triggers[0] if run.triggers else None,
        requested_by=run.requested_by,
        reason=reason,
        preflight=run.preflight,
        primary_region=plan.primary_region,
        recovery_region=plan.recovery_region,
        vms=sum(b.vms for b in batches),
        recovery_plans=sum(len(b.recovery_plans) for b in batches),
        batches=len(batches),
        sessions=None,
        expected_seconds=expected * run.scale,  # the card speaks in plan (real) time
        expires_at=isoformat(expires),
        approvers=policy.approvers,
        required=policy.required,
        nonce=nonce,
        readiness=readiness,
    )


def _preflight(run: _Run):
    """Network (recovery VNet, gateways to on-premises, ASR network mappings) and identity (domain controllers in
    or from the recovery region) checks, before the failover is proposed. A failed check does not stop the run (a
    person decides, seeing it on the card); it is recorded as an error of the run."""
    plan = run.plan
    if (plan.network is None and plan.identity is None) or run.mode == "failback":
        return
    run.begin("preflight")
    run.publish_status("checking network and identity")
    try:
        checked = yield run.context.call_activity_with_retry(
            "preflight_checks", ARM_RETRY, PreflightInput(instance_id=run.context.instance_id, plan=plan)
        )
        run.preflight = checked.plain()
    except Exception as err:
        run.preflight = {
            "status": "fail",
            "checks": [{"name": "preflight", "status": "fail", "message": str(err)[:300]}],
        }
    assert run.preflight is not None
    for check in run.preflight["checks"]:
        if check["status"] == "fail":
            run.errors.append(f"preflight {check['name']}: {check['message']}")
    run.approval["preflight"] = run.preflight["status"]
    run.end("preflight", "Failed" if run.preflight["status"] == "fail" else "Succeeded")
    run.publish_status()


def _decision_outcome(outcome: str, decisions: list[dict[str, Any]], cancel: dict[str, Any] | None) -> str:
    deciders = ", ".join(d["approver"] for d in decisions if d.get("approver") and d["decision"] == outcome)
    return {
        "approve": f"approved by {deciders or 'timeout policy (proceed)'}; failover starting",
        "reject": f"rejected by {deciders}; nothing was changed" if deciders else "timed out; nothing was changed",
        "cancelled": f"cancelled by {(cancel or {}).get('by')} ({(cancel or {}).get('reason') or 'no reason given'}); "
        "nothing was changed",
    }[outcome]


def _approval_gate(run: _Run, batches: list[Batch]):
    """Post the card, then wait for a quorum of distinct approvers, a reject, a cancel or the timeout.

    Returns "approve", "reject" or "cancelled". Every accepted decision is recorded under its
    `nonce:approver` key with the request id that carried it: the HTTP handler reads that back, so of
    two requests racing with one link exactly one is answered as recorded.
    """
    context, policy = run.context, run.policy
    nonce = str(context.new_uuid())
    expires = run.at(policy.timeout)
    run.approval.update(waiting=True, expires_at=isoformat(expires), nonce=nonce)
    run.begin("approval")
    run.publish_status("awaiting approval")
    card_readiness: dict[str, Any]
    try:  # readiness for the card: replication health and RPO lag of the plans about to move
        readiness = yield context.call_activity_with_retry(
            "asr_replication_health",
            ARM_RETRY,
            ReplicationHealthInput(
                **run.ids,
                **run.plan.vault_ref(),
                recovery_plans=[p.name for b in batches for p in b.recovery_plans],
                direction="PrimaryToRecovery",
            ),
        )
        card_readiness = readiness.plain()
    except Exception as err:  # the card goes out without it; approvers see why
        card_readiness = {"error": str(err)[:300]}
    run.approval["readiness"] = {k: v for k, v in card_readiness.items() if k != "unhealthy"}
    card = _card(run, batches, expires, nonce, card_readiness)
    run.publish_status()
    try:
        yield context.call_activity_with_retry("teams_post_approval_card", NOTIFY_RETRY, card)
    except Exception as err:  # Teams down: the gate still waits; an approver can use the API
        run.errors.append(f"approval card not delivered to Teams: {err}")
        run.publish_status()
    yield from run.events.publish(
        "ApprovalRequested",
        "approval",
        {"expires_at": isoformat(expires), "required": policy.required, "approvers": policy.approvers},
    )

    allowed = {a.lower() for a in policy.approvers}
    requester = (run.requested_by or "").lower()
    approved_by: set[str] = set()
    outcome: str | None = None
    timer = context.create_timer(expires)
    decision_task = None
    winner = None
    while outcome is None:
        if decision_task is None:
            decision_task = context.wait_for_external_event(APPROVAL_EVENT)
        winner = yield from run.wait_any([decision_task, timer])
        if winner is INTERRUPTED:
            if run.cancel:
                outcome = "cancelled"
            continue
        if winner is timer:
            if policy.on_timeout == "escalate" and not run.approval["escalated"]:
                extension = policy.escalation_extension or policy.timeout
                expires = run.at(extension)
                timer = context.create_timer(expires)
                run.approval.update(escalated=True, expires_at=isoformat(expires))
                run.approval["decisions"].append(
                    {
                        "approver": None,
                        "decision": "escalated",
                        "at": isoformat(run.now()),
                        "comment": f"no quorum in time; reminder sent, gate extended until {isoformat(expires)}",
                    }
                )
                run.publish_status()
                try:
                    yield context.call_activity_with_retry(
                        "teams_post_reminder", NOTIFY_RETRY, card.model_copy(update={"expires_at": isoformat(expires)})
                    )
                except Exception as err:
                    run.errors.append(f"escalation reminder not delivered: {err}")
                yield from run.events.publish("ApprovalEscalated", "approval", {"expires_at": isoformat(expires)})
                continue
            outcome = "approve" if policy.on_timeout == "proceed" else "reject"
            run.approval["decisions"].append(
                {
                    "approver": None,
                    "decision": "timeout",
                    "at": isoformat(run.now()),
                    "comment": f"approval timed out; on_timeout {policy.on_timeout}: "
                    + ("proceeding" if outcome == "approve" else "aborting"),
                }
            )
            break
        decision = decision_task.result or {}
        decision_task = None
        approver = str(decision.get("approver") or "").lower()
        key = f"{decision.get('nonce')}:{approver}"
        if (
            approver not in allowed
            or key in run.approval["used"]
            or decision.get("nonce") != nonce
            or decision.get("decision") not in ("approve", "reject")
            or (approver == requester and not policy.allow_requester)
        ):
            continue  # the HTTP handler refuses these; an event raised some other way is ignored
        run.approval["used"][key] = str(decision.get("request_id") or "")
        run.approval["decisions"].append(
            {
                "approver": approver,
                "decision": decision["decision"],
                "at": isoformat(run.now()),
                "comment": decision.get("comment"),
            }
        )
        if decision["decision"] == "reject":
            outcome = "reject"
        else:
            approved_by.add(approver)
            if len(approved_by) >= policy.required:
                outcome = "approve"
        run.publish_status()
    if winner is not timer:
        timer.cancel()  # decided before the deadline: the pending timer must not keep the run alive
    run.approval["waiting"] = False
    run.end("approval", {"approve": "Succeeded", "reject": "Rejected", "cancelled": "Cancelled"}[outcome])
    run.publish_status()
    try:
        yield context.call_activity_with_retry(
            "teams_post_decision",
            NOTIFY_RETRY,
            TeamsDecisionInput(
                **run.ids,
                outcome=_decision_outcome(outcome, run.approval["decisions"], run.cancel),
                decisions=[ApprovalDecision.model_validate(d) for d in run.approval["decisions"]],
            ),
        )
    except Exception as err:
        run.errors.append(f"decision message not delivered to Teams: {err}")
    yield from run.events.publish(
        "ApprovalDecided", "approval", {"outcome": outcome, "decisions": run.approval["decisions"]}
    )
    return outcome


def _evacuate_avd(run: _Run):
    """Drain every host pool, message users, wait the grace period, log off what is left."""
    context, plan = run.context, run.plan
    if not plan.avd.host_pools:
        return
    run.begin("avd")
    run.publish_status("draining host pools")
    pools = []
    for pool in plan.avd.host_pools:
        ref = _pool_ref(run, pool)
        drained = yield context.call_activity_with_retry(
            "avd_drain_host_pool", ARM_RETRY, HostPoolDrainInput(**ref, concurrency=plan.avd.logoff_concurrency)
        )
        run.sessions["found"] += drained.sessions
        pools.append((ref, drained.session_hosts))
    yield from run.events.publish("SessionsDrained", "avd", {"sessions": run.sessions["found"]})

    run.publish_status("messaging users")
    hosts_found = [host for _, hosts in pools for host in hosts]
    if not hosts_found:  # nobody to message or log off
        run.end("avd")
        yield from run.events.publish("SessionsLoggedOff", "avd", dict(run.sessions))
        return
    sent = yield context.task_all(
        [
            context.call_activity_with_retry(
                "avd_message_sessions",
                ARM_RETRY,
                SessionMessageInput(
                    **ref,
                    session_host=host,
                    title=plan.avd.message.title,
                    body=plan.avd.message.body,
                    concurrency=plan.avd.logoff_concurrency,
                ),
            )
            for ref, hosts in pools
            for host in hosts
        ]
    )
    for result in sent:  # an undelivered message is reported, not sent again: the session is logged off anyway
        run.messages["sent"] += result.messaged
        run.messages["failed"].extend(f.plain() for f in result.failed)
    run.publish_status("grace period")
    grace = context.create_timer(run.at(plan.avd.grace_period))
    while (yield from run.wait_any([grace])) is INTERRUPTED:
        if run.cancel:
            grace.cancel()
            run.errors.append(
                "cancelled during the grace period: host pools stay drained, sessions were not logged off"
            )
            run.end("avd", "Cancelled")
            return

    run.publish_status("logging off sessions")
    results = yield context.task_all(
        [
            context.call_activity_with_retry(
                "avd_log_off_sessions",
                ARM_RETRY,
                SessionHostInput(**ref, session_host=host, concurrency=plan.avd.logoff_concurrency),
            )
            for ref, hosts in pools
            for host in hosts
        ]
    )
    for result in results:
        run.sessions["logged_off"] += result.logged_off
        for failure in result.failed:
            run.errors.append(
                f"session {failure.session_id} of {failure.user} on {failure.session_host} "
                f"was not logged off: {failure.error}"
            )
    run.end("avd", "Succeeded" if run.sessions["logged_off"] >= run.sessions["found"] else "CompletedWithErrors")
    yield from run.events.publish("SessionsLoggedOff", "avd", dict(run.sessions))


class _Dispatcher:
    """Starts batches batch_interval apart (the spacing rule's clock is the dispatch time) and records
    the ones that finish. Shared by the planned batches and the operator's retries."""

    def __init__(self, run: _Run) -> None:
        plan = run.plan
        self.run = run
        self.interval = timedelta(seconds=run.seconds(plan.batch_interval))
        self.last_start: datetime | None = None
        self.pending: dict[int, Any] = {}
        self.dispatched: dict[int, str] = {}
        self.asr = {
            **plan.vault_ref(),
            "recovery_point_type": plan.asr.recovery_point_type,
            "source_site_operations": plan.asr.source_site_operations,
            "drill_network": plan.drill.network_id if plan.drill else None,
            "drill_networks": dict(plan.drill.networks) if plan.drill else {},
        }

    def _finish(self, task: Any):
        run = self.run
        index = next(i for i, t in self.pending.items() if t is task)
        del self.pending[index]
        result = {**BatchResult.model_validate(task.result).plain(), "started_at": self.dispatched[index]}
        run.batch_results[index] = result
        for entry in result["plans"]:
            if entry["state"] == "Succeeded":
                run.plan_errors.pop(entry["name"], None)
            else:
                reason = "; ".join(entry["errors"]) or entry["state"]
                run.plan_errors[entry["name"]] = (
                    f"recovery plan {entry['name']} ({result['group']}): {entry['state']}: {reason}"
                )
        run.publish_status()
        yield from run.events.publish("BatchCompleted", f"batch/{index}", _batch_event(result))
        for entry in (e for e in result["plans"] if e["state"] != "Succeeded"):
            yield from run.events.publish(
                "PlanFailed",
                f"batch/{index}",
                {"recovery_plan": entry["name"], "state": entry["state"], "errors": entry["errors"]},
            )

    def wait_one(self, extra: list[Any] | None = None):
        """Wait for a running batch (or an `extra` task). Returns the winner, or INTERRUPTED."""
        winner = yield from self.run.wait_any([*self.pending.values(), *(extra or [])])
        if winner is not INTERRUPTED and winner in self.pending.values():
            yield from self._finish(winner)
        return winner

    def dispatch(self, batch: dict[str, Any]):
        """Start one batch once the spacing allows. Returns False if the run was cancelled meanwhile."""
        run, context = self.run, self.run.context
        while self.last_start is not None and run.now() < self.last_start + self.interval and not run.cancel:
            timer = context.create_timer(self.last_start + self.interval)
            while not run.cancel and (yield from self.wait_one([timer])) is not timer:
                pass
            if run.cancel:
                timer.cancel()
        if run.cancel:
            return False
        self.last_start = run.now()
        self.dispatched[batch["index"]] = isoformat(self.last_start)
        spec = BatchInput(
            plan=run.plan.name,
            batch=batch,
            asr=self.asr,
            mode=run.mode,
            poll_seconds=run.seconds(run.plan.asr.job_poll_interval),
            poll_max_seconds=run.seconds(run.plan.asr.job_poll_max),
            commit=run.plan.asr.commit and run.mode in ("planned", "unplanned", "failback"),
            timeout_seconds=run.seconds(run.plan.asr.job_timeout),
        )
        self.pending[batch["index"]] = context.call_sub_orchestrator(
            "batch_orchestrator", spec, f"{context.instance_id}:batch-{batch['index']}"
        )
        run.batches_started += 1
        run.publish_status()
        yield from run.events.publish(
            "BatchStarted",
            f"batch/{batch['index']}",
            {k: batch[k] for k in ("group", "index", "vms")}
            | {"recovery_plans": [p["name"] for p in batch["recovery_plans"]], "retry_of": batch.get("retry_of")},
        )
        return True

    def drain(self):
        """Watch every running batch to its end (also after a cancel: jobs in flight are not abandoned)."""
        while self.pending:
            yield from self.wait_one()


def _still_failed(run: _Run, dispatcher: _Dispatcher, group: Any) -> list[str]:
    """The group's plans whose last attempt failed, not being retried and not skipped."""
    in_flight = {p["name"] for b in run.batches if b["index"] in dispatcher.pending for p in b["recovery_plans"]}
    skipped = {s["name"] for s in run.skipped}
    return sorted(
        p["name"]
        for p in run.final_plans()
        if p["state"] != "Succeeded"
        and group.matches(p["name"])
        and p["name"] not in in_flight | skipped
        and p["name"] not in run.retry_queue
    )


def _operator_wait(run: _Run, dispatcher: _Dispatcher, group: Any):
    """A stopped group's failed plans wait for an operator's retry or skip, up to plan.operator_wait.
    Returns True when every failed plan was retried successfully or skipped."""
    context = run.context
    run.blocked = _still_failed(run, dispatcher, group)
    if not run.blocked:
        return True
    deadline = context.create_timer(run.at(run.plan.operator_wait))
    timed_out = False
    run.begin(f"operator wait: {group.name}")
    run.publish_status("awaiting operator")
    yield from run.events.publish(
        "OperatorActionRequired", f"group/{group.name}", {"group": group.name, "failed": list(run.blocked)}
    )
    while (run.blocked or run.retry_queue or dispatcher.pending) and not run.cancel:
        while run.retry_queue and not run.cancel:
            name = run.retry_queue.pop(0)
            vms = next(p["vms"] for p in run.final_plans() if p["name"] == name)
            batch = {
                "group": group.name,
                "index": max(b["index"] for b in run.batches) + 1,
                "vms": vms,
                "recovery_plans": [{"name": name, "vms": vms}],
                "retry_of": name,
            }
            run.batches.append(batch)
            run.publish_status("retrying")
            yield from dispatcher.dispatch(batch)
        if not (run.blocked or dispatcher.pending):
            break
        winner = yield from dispatcher.wait_one([deadline])
        if winner is deadline:
            timed_out = True
            break
        run.blocked = _still_failed(run, dispatcher, group)  # a retry that failed again is blocked again
        run.publish_status("awaiting operator" if run.blocked else "retrying" if dispatcher.pending else None)
    if not timed_out:
        deadline.cancel()
    yield from dispatcher.drain()
    run.blocked = _still_failed(run, dispatcher, group)
    stopped = bool(run.blocked) or bool(run.cancel)
    run.end(f"operator wait: {group.name}", "Cancelled" if run.cancel else "TimedOut" if run.blocked else "Succeeded")
    run.blocked = []
    run.publish_status()
    return not stopped


def _fail_over(run: _Run, batches: list[Batch]):
    """Groups in order; batches of a group started batch_interval apart. Returns False if a group stopped
    the run or it was cancelled."""
    plan = run.plan
    run.begin("failover")
    run.publish_status("failing over")
    dispatcher = _Dispatcher(run)
    for position, group in enumerate(plan.groups):
        if not (yield from runbook.dependencies_before(run, group.name, first=position == 0)):
            yield from dispatcher.drain()
            run.end("failover", "Cancelled" if run.cancel else "Failed")
            return False
        run.publish_status("failing over")
        if group.action is not None:  # a custom-action wave: its webhook and completion callback
            ok = yield from runbook.run_action_group(run, group)
            if run.cancel:
                run.end("failover", "Cancelled")
                return False
            if not ok and group.on_failure == "stop":
                run.errors.append(
                    f"action group '{group.name}' failed; later groups were not started (on_failure: stop)"
                )
                run.end("failover", "Failed")
                return False
            continue
        for batch in (b for b in batches if b.group == group.name):
            if not (yield from dispatcher.dispatch(batch.to_dict())):
                break
        yield from dispatcher.drain()
        if run.cancel:
            run.end("failover", "Cancelled")
            return False
        failed = [p for p in run.final_plans() if p["state"] != "Succeeded" and group.matches(p["name"])]
        if failed and group.on_failure == "stop" and not (yield from _operator_wait(run, dispatcher, group)):
            if not run.cancel:
                run.errors.append(f"group '{group.name}' failed; later groups were not started (on_failure: stop)")
            run.end("failover", "Cancelled" if run.cancel else "Failed")
            return False
        run.publish_status("failing over")
    run.end("failover", "Succeeded" if not run.plan_errors else "CompletedWithErrors")
    return True


def _batch_event(result: dict[str, Any]) -> dict[str, Any]:
    return {k: result[k] for k in ("group", "index", "vms", "status", "recovery_plans", "started_at", "finished_at")}


def _switch_dns(run: _Run):
    context, plan = run.context, run.plan
    if not plan.dns.records:
        return
    run.begin("dns")
    run.publish_status("switching dns")
    for record in plan.dns.records:
        result = yield context.call_activity_with_retry(
            "dns_switch_record",
            ARM_RETRY,
            DnsSwitchInput(**_record_ref(run, record).model_dump(), target=record.target, ttl=record.ttl),
        )
        run.dns.append(result.plain())
    run.end("dns")
    yield from run.events.publish("DnsSwitched", "dns", {"records": run.dns})


def _record_ref(run: _Run, record: DnsRecord) -> DnsRecordInput:
    """A record set of the plan, as the DNS activities' inputs name it."""
    return DnsRecordInput(
        **run.ids,
        subscription_id=record.subscription_id or run.plan.subscription_id,
        resource_group=record.resource_group,
        zone=record.zone,
        name=record.name,
        type=record.type,
    )


def _call(run: _Run, activity: str, payload: Contract) -> Any:
    return run.context.call_activity_with_retry(activity, ARM_RETRY, payload)


def _pool_ref(run: _Run, pool: HostPoolRef) -> dict[str, Any]:
    """A host pool with the run's ids: the keyword arguments every AVD activity input starts with."""
    return {**run.ids, **run.plan.host_pool_ref(pool)}


def _close_test_host_pool(run: _Run):
    """Seed guidance: test-failed-over session hosts register with the recovery host pool and would take
    new connections. Close that pool's session hosts to new sessions for the drill; returns what changed so
    the drill reopens exactly those afterwards."""
    standby = run.plan.standby
    if standby is None:
        return None
    ref = _pool_ref(run, standby.host_pool)
    run.begin("avd")
    closed = yield _call(run, "avd_allow_new_sessions", NewSessionsInput(**ref, allow=False))
    run.end("avd")
    return {"ref": ref, "changed_hosts": closed.changed_hosts}


def _drill(run: _Run, batches: list[Batch]):
    """Mode `test`: test failover of the recovery plans into their isolated networks, group by group
    and batch by batch like a failover, verify the test VMs, then ALWAYS clean up (also after a failed
    plan, a cancel or an error). Production is not touched: no AVD drain of the primary, no
    dependencies, no standby start, no DNS or Traffic Manager change; the recovery host pool is kept
    closed to new sessions while test session hosts may be up."""
    plan = run.plan
    touched: list[str] = []
    closed: dict[str, Any] | None = None
    try:
        closed = yield from _close_test_host_pool(run)
        run.begin("failover")
        run.publish_status("test failover")
        dispatcher = _Dispatcher(run)
        for group in plan.groups:
            group_batches = [b for b in batches if b.group == group.name]
            for batch in group_batches:
                touched.extend(p.name for p in batch.recovery_plans)
                if not (yield from dispatcher.dispatch(batch.to_dict())):
                    break
            yield from dispatcher.drain()
            failed = [p for p in run.final_plans() if p["state"] != "Succeeded" and group.matches(p["name"])]
            if run.cancel or (failed and group.on_failure == "stop"):
                if failed and not run.cancel:
                    run.errors.append(f"group '{group.name}' failed; later groups were not tested (on_failure: stop)")
                break
        run.end("failover", "Cancelled" if run.cancel else "Failed" if run.plan_errors else "Succeeded")
        if not run.cancel and not run.plan_errors:
            yield from runbook.verify(run, drill=True)
        achieved = rto_seconds(run.started_at, isoformat(run.now()))
        target = run.seconds(plan.rto_target)
        run.drill = {"rto_seconds": achieved, "rto_target_seconds": target, "rto_met": achieved <= target}
    except Exception as err:  # whatever happened, the test VMs must not be left behind
        run.errors.append(f"drill interrupted: {err}")
    yield from runbook.test_cleanup(run, list(dict.fromkeys(touched)))
    if closed and closed.get("changed_hosts"):  # reopen what the drill closed, nothing else
        try:
            reopen = NewSessionsInput(**closed["ref"], session_hosts=closed["changed_hosts"], allow=True)
            yield _call(run, "avd_allow_new_sessions", reopen)
        except Exception as err:
            run.errors.append(f"drill: session hosts {', '.join(closed['changed_hosts'])} not reopened: {err}")
    if run.cancel:
        run.errors.append(f"drill cancelled by {run.cancel.get('by')}; test failover cleaned up: {run.cleanup}")
        return (yield from _end_run(run, "Cancelled", "cancelled", "RunCancelled", {"cancel": run.cancel}))
    final = [{"status": p["state"]} for p in run.final_plans()]
    healthy = (run.verify or {}).get("healthy", True)
    status = "Completed" if not run.all_errors() and healthy and final else "CompletedWithErrors"
    return (
        yield from _end_run(
            run,
            status,
            "completed" if status == "Completed" else "completed with errors",
            "DrillCompleted",
            {"drill": run.drill, "cleanup": run.cleanup},
        )
    )


def _failback(run: _Run, batches: list[Batch], restore: dict[str, Any]):
    """Mode `failback`, once the disaster is mitigated: reprotect (replicate back to the primary), wait
    until that replication is healthy, planned failover RecoveryToPrimary batch by batch (committed),
    reopen the primary host pools, DNS and Traffic Manager back to the values the failover recorded,
    then reprotect again (primary → recovery) so the estate is protected as before."""
    context, plan = run.context, run.plan
    names = [p.name for b in batches for p in b.recovery_plans]

    def stop(step: str, outcome: dict[str, str]) -> bool:
        failed = {k: v for k, v in outcome.items() if v.startswith("Failed")}
        for name, why in failed.items():
            run.errors.append(f"{step} of {name}: {why.removeprefix('Failed: ')}")
        run.end(step, "Failed" if failed else "Succeeded")
        return bool(failed)

    run.begin("reprotect")
    run.publish_status("reprotecting (replication back to the primary region)")
    if stop("reprotect", (yield from runbook.plan_jobs(run, "asr_reprotect", names))):
        return (yield from _end_run(run, "CompletedWithErrors", "stopped", "RunCompleted", {"stopped": "reprotect"}))

    run.begin("replication health")
    run.publish_status("waiting for healthy replication to the primary region")
    asr = plan.asr
    health_payload = ReplicationHealthInput(
        **run.ids,
        **plan.vault_ref(),
        recovery_plans=names,
        direction="RecoveryToPrimary",
    )
    deadline = run.at(asr.job_timeout)
    healthy = False
    while True:
        health = yield context.call_activity_with_retry("asr_replication_health", ARM_RETRY, health_payload)
        run.approval["readiness"] = {k: v for k, v in health.plain().items() if k != "unhealthy"}
        if health.protected_items and not health.unhealthy_total and health.healthy:
            healthy = True
            break
        if run.now() >= deadline:
            break
        yield from run.sleep_until(min(deadline, run.now() + timedelta(seconds=run.seconds(asr.job_poll_max))))
    run.end("replication health", "Succeeded" if healthy else "TimedOut")
    if not healthy or run.cancel:
        run.errors.append("replication back to the primary region is not healthy: nothing was failed back")
        return (yield from _end_run(run, "CompletedWithErrors", "stopped", "RunCompleted", {"stopped": "health"}))

    run.begin("failover")
    run.publish_status("failing back")
    dispatcher = _Dispatcher(run)
    stopped = False
    for group in plan.groups:
        for batch in (b for b in batches if b.group == group.name):
            if not (yield from dispatcher.dispatch(batch.to_dict())):
                break
        yield from dispatcher.drain()
        failed = [p for p in run.final_plans() if p["state"] != "Succeeded" and group.matches(p["name"])]
        if run.cancel or (failed and group.on_failure == "stop"):
            stopped = True
            if failed:
                run.errors.append(f"group '{group.name}' failed to fail back; later groups were not started")
            break
    run.end("failover", "Failed" if stopped else "Succeeded" if not run.plan_errors else "CompletedWithErrors")
    if stopped:
        return (yield from _end_run(run, "CompletedWithErrors", "stopped", "RunCompleted", {"stopped": "failover"}))

    run.begin("avd")
    try:
        for pool in plan.avd.host_pools:  # users come back to the primary region's session hosts
            yield _call(run, "avd_allow_new_sessions", NewSessionsInput(**_pool_ref(run, pool), allow=True))
        if plan.standby is not None:  # the recovery region's standby hosts stop taking sessions
            closing = NewSessionsInput(**_pool_ref(run, plan.standby.host_pool), allow=False)
            yield _call(run, "avd_allow_new_sessions", closing)
        run.end("avd")
    except Exception as err:
        run.errors.append(f"host pools not reopened: {err}")
        run.end("avd", "Failed")

    run.begin("dns")
    run.publish_status("restoring dns")
    for record in plan.dns.records:
        try:
            result = yield context.call_activity_with_retry(
                "dns_restore_record",
                ARM_RETRY,
                _record_ref(run, record),
            )
            run.dns.append(result.plain())
        except Exception as err:
            run.errors.append(f"dns {record.label} not restored: {err}")
    for previous in restore.get("traffic_manager") or []:
        try:
            result = yield context.call_activity_with_retry(
                "tm_set_endpoint",
                ARM_RETRY,
                TmEndpointInput(
                    **run.ids,
                    subscription_id=previous.get("subscription_id") or plan.subscription_id,
                    resource_group=previous.get("resource_group"),
                    profile=previous.get("profile"),
                    endpoint=previous.get("endpoint"),
                    endpoint_type=previous.get("endpoint_type"),
                    status=previous.get("status"),
                    priority=previous.get("priority"),
                ),
            )
            run.dns.append({**result.plain(), "kind": "traffic_manager"})
        except Exception as err:
            run.errors.append(f"traffic manager {previous.get('profile')}/{previous.get('endpoint')}: {err}")
    run.end("dns", "Succeeded" if not any(e.startswith(("dns", "traffic")) for e in run.errors) else "Failed")
    yield from run.events.publish("DnsSwitched", "dns", {"records": run.dns, "failback": True})

    run.begin("reprotect again")
    run.publish_status("reprotecting (replication to the recovery region)")
    stop("reprotect again", (yield from runbook.plan_jobs(run, "asr_reprotect", names)))

    status = overall_status([{"status": p["state"]} for p in run.final_plans()], run.all_errors())
    return (
        yield from _end_run(
            run,
            status,
            "completed" if status == "Completed" else "completed with errors",
            "RunCompleted",
            {"rto_seconds": rto_seconds(run.started_at, isoformat(run.now())), "failback": True},
        )
    )


def _end_run(run: _Run, status: str, stage: str, event: str, data: dict[str, Any]):
    run.publish_status(stage)
    summary = run.summary(status)
    yield from run.events.publish(event, "run", {"status": status, **data})
    summary["events_published"] = run.events.published
    summary["events_failed"] = run.events.failed
    return summary


def failover_orchestrator(context: df.DurableOrchestrationContext):
    """Input: `RunInput` (`failover.run.build_run_input(...)`). Output: `RunSummary`."""
    spec = context.get_input()
    if not isinstance(spec, RunInput):  # started with plain JSON (a script calling the Durable API directly)
        spec = RunInput.model_validate(spec)
    summary = yield from _failover(context, spec)
    # Validated against the contract, returned as its JSON: azure-functions-durable 1.7's executor refuses a
    # custom object as an orchestration's output (TaskOrchestrationExecutor checks it with a plain json.dumps).
    return RunSummary.model_validate(summary).plain()


def _failover(context: df.DurableOrchestrationContext, spec: RunInput):
    plan = spec.plan
    run = _Run(context, plan, spec)
    run.begin("resolve")
    run.publish_status("reading recovery plans")
    yield from run.events.publish(
        "RunStarted", "run", {"mode": run.mode, "triggers": run.triggers, "requested_by": run.requested_by}
    )

    try:
        batches: list[Batch] = yield from _resolve(run)
    except Exception as err:  # a plan that does not match the vault: nothing was touched
        run.errors.append(f"cannot plan batches: {err}")
        run.end("resolve", "Failed")
        return (yield from _end_run(run, "Failed", "failed", "RunFailed", {"errors": run.all_errors()}))
    run.end("resolve")
    run.batches = [b.to_dict() for b in batches]
    run.publish_status()
    yield from _preflight(run)

    if run.policy.required > 0:
        outcome = yield from _approval_gate(run, batches)
        if outcome == "cancelled":
            return (yield from _end_run(run, "Cancelled", "cancelled", "RunCancelled", {"cancel": run.cancel}))
        if outcome != "approve":
            decisions = {"decisions": run.approval["decisions"]}
            return (yield from _end_run(run, "Rejected", "rejected", "RunRejected", decisions))

    if run.mode == "test":
        return (yield from _drill(run, batches))
    if run.mode == "failback":
        return (yield from _failback(run, batches, dict(spec.restore)))

    yield from _evacuate_avd(run)
    completed_groups = False
    if not run.cancel:
        completed_groups = yield from _fail_over(run, batches)
    if completed_groups and not run.cancel:
        yield from runbook.start_standby(run)
        yield from runbook.verify(run)
        assert run.verify is not None
        if run.verify["healthy"] or not (plan.verify and plan.verify.required_for_dns):
            yield from _switch_dns(run)
            yield from runbook.switch_traffic_manager(run)
        else:
            run.errors.append("DNS and Traffic Manager were not switched: verify found the recovery region unhealthy")
    elif not run.cancel:
        run.errors.append("DNS was not switched because a group stopped the failover")
    if run.cancel:
        run.errors.append(f"cancelled by {run.cancel.get('by')}: no batch was started after the cancel; DNS unchanged")
        return (yield from _end_run(run, "Cancelled", "cancelled", "RunCancelled", {"cancel": run.cancel}))

    results = [run.batch_results[i] for i in sorted(run.batch_results)]
    final = [{"status": p["state"]} for p in run.final_plans()] or results
    status = overall_status(final, run.all_errors()) if completed_groups else "CompletedWithErrors"
    summary = run.summary(status)
    return (
        yield from _end_run(
            run,
            status,
            "completed" if status == "Completed" else "completed with errors",
            "RunCompleted",
            {"rto_seconds": summary["rto_seconds"], "vms_failed_over": summary["vms_failed_over"]},
        )
    )


bp = df.Blueprint()
bp.orchestration_trigger(context_name="context")(failover_orchestrator)
