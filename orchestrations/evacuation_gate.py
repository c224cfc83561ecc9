"""The evacuation's approval gate (`orchestrations.evacuation`): its one card for every plan, the decisions (the
same links and rules as a run's: `orchestrations.approval_gate.record_decision`), an operator's cancel and the
incident's Service Health Resolved notice while the card waits. Deterministic: no I/O but the activities.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from failover.contracts.notify import ApprovalCardInput, ApprovalDecision, TeamsDecisionInput
from failover.contracts.run import EvacuationInput
from orchestrations.approval_gate import record_decision
from orchestrations.common import NOTIFY_RETRY, EventLog, isoformat

APPROVAL_EVENT = "approval"
CONTROL_EVENT = "control"


def approval(
    context: Any,
    spec: EvacuationInput,
    plans: list[Any],
    state: dict[str, Any],
    events: EventLog,
    publish: Any,
    timeout: float,
    now: Any,
    channel: dict[str, Any],
):
    """The evacuation's approval gate: one card, the same links and rules as a run's (`failover.api.approvals`:
    approver, nonce, single use; the requester cannot approve). Returns "approve", "reject" or "cancelled" (an
    operator's cancel, or the incident's Resolved notice: `on_resolved`)."""
    gate = state["approval"]
    rows = {row["plan"]: row for row in state["plans"]}
    nonce = str(context.new_uuid())
    expires = now() + timedelta(seconds=timeout)
    gate.update(waiting=True, nonce=nonce, expires_at=isoformat(expires))
    lines = "; ".join(
        f"{r['plan']} (tier {r['tier']}{', after ' + ', '.join(r['after']) if r['after'] else ''}): "
        f"{r.get('vms') if r.get('vms') is not None else '?'} VMs"
        for r in state["plans"]
    )
    card = ApprovalCardInput(
        instance_id=context.instance_id,
        plan=f"evacuation of {spec.region}",
        nonce=nonce,
        expires_at=isoformat(expires),
        mode="unplanned",
        trigger=spec.trigger,
        requested_by=spec.requested_by,
        reason=f"{spec.reason + ' — ' if spec.reason else ''}{len(plans)} plans, in this order: {lines}. "
        f"At most {spec.in_flight_cap} VMs fail over at once across them. To leave a plan out, approve through "
        "the API with exclude (failover approve ID --exclude PLAN).",
        primary_region=spec.region,
        recovery_region=", ".join(sorted({p.recovery_region for p in plans})),
        vms=sum(r.get("vms") or 0 for r in state["plans"]),
        recovery_plans=sum(r.get("recovery_plans") or 0 for r in state["plans"]),
        batches=sum(r.get("batches") or 0 for r in state["plans"]),
        expected_seconds=state["eta_seconds"],
        approvers=gate["approvers"],
        required=gate["required"],
        capacity=state["capacity"],  # per recovery region, every plan's needs summed
    )
    publish("awaiting approval")
    try:
        yield context.call_activity_with_retry("teams_post_approval_card", NOTIFY_RETRY, card)
    except Exception as err:  # Teams down: approvers use the API
        state["errors"].append(f"approval card not delivered to Teams: {err}")
    timer = context.create_timer(expires)
    approval = context.wait_for_external_event(APPROVAL_EVENT)
    approved_by: set[str] = set()
    excluded: dict[str, str] = {}
    requester = (spec.requested_by or "").lower()
    outcome = None
    winner = None
    while outcome is None:
        winner = yield context.task_any([approval, timer, channel["control"]])
        if winner is timer:
            gate["decisions"].append(
                {"approver": None, "decision": "timeout", "at": isoformat(now()),
                 "comment": "approval timed out; aborting"}
            )  # fmt: skip
            outcome = "reject"
            break
        if winner is channel["control"]:
            event = winner.result or {}
            channel["control"] = context.wait_for_external_event(CONTROL_EVENT)
            if event.get("action") == "cancel":
                state["cancel"] = {"by": event.get("by"), "reason": event.get("reason"), "at": isoformat(now())}
                outcome = "cancelled"
            elif event.get("action") == "resolved" and (yield from on_resolved(spec, plans, state, events, event, now)):
                outcome = "cancelled"
            publish()
            continue
        decision = approval.result or {}
        approval = context.wait_for_external_event(APPROVAL_EVENT)
        approver = record_decision(gate, decision, nonce, set(gate["approvers"]), requester, False, isoformat(now()))
        if approver is None:
            continue  # the HTTP handler refuses these
        if decision["decision"] == "reject":
            outcome = "reject"
        else:
            approved_by.add(approver)
            for name in decision.get("exclude") or []:
                if name in rows:
                    excluded.setdefault(name, approver)
            if len(approved_by) >= gate["required"]:
                outcome = "approve"
        publish()
    if winner is not timer:
        timer.cancel()  # decided before the deadline: the pending timer must not keep the evacuation alive
    gate["waiting"] = False
    if outcome == "approve" and excluded:
        gate["exclude_decided"] = sorted(excluded)
        state["excluded"].extend({"plan": n, "by": by, "when": "approved"} for n, by in sorted(excluded.items()))
    publish()
    text = {
        "approve": "approved; the plans fail over tier by tier",
        "reject": "rejected; nothing was changed",
        "cancelled": "cancelled; nothing was changed",
    }[outcome]
    if outcome == "cancelled" and (state["cancel"] or {}).get("by") == "alert":
        text = "the incident was resolved before approval; the evacuation is cancelled, nothing was changed"
    try:
        yield context.call_activity_with_retry(
            "teams_post_decision",
            NOTIFY_RETRY,
            TeamsDecisionInput(
                instance_id=context.instance_id,
                plan=f"evacuation of {spec.region}",
                outcome=text,
                decisions=[ApprovalDecision.model_validate(d) for d in gate["decisions"]],
            ),
        )
    except Exception as err:
        state["errors"].append(f"decision message not delivered to Teams: {err}")
    return outcome


def on_resolved(spec: EvacuationInput, plans: list[Any], state: dict[str, Any], events: EventLog, event: Any, now: Any):
    """A Service Health Resolved notice (`failover.api.evacuations`). The first notice of the incident that started
    the evacuation is its `resolved`, and cancels it while its card waits when every plan's approval policy says
    `cancel_on_resolved` (as a run's); any other notice, or one after the approval, is kept in `resolutions` and
    changes nothing. `IncidentResolved` is published either way. Returns True when it cancels."""
    trigger = event.get("trigger") if isinstance(event.get("trigger"), dict) else {}
    record = {**trigger, "received_at": isoformat(now())}
    first = spec.trigger or {}
    started_it = bool(first) and trigger.get("incident_key") == first.get("incident_key") and not state.get("resolved")
    if started_it:
        state["resolved"] = record
    else:
        state["resolutions"] = [*(state.get("resolutions") or []), record][-5:]
    cancels = (
        started_it
        and state["approval"]["waiting"]
        and state["cancel"] is None
        and all(p.approval.for_mode("unplanned").cancel_on_resolved for p in plans)
    )
    if cancels:
        state["cancel"] = {
            "by": "alert",
            "reason": "the incident was resolved before approval",
            "at": record["received_at"],
        }
    yield from events.publish("IncidentResolved", "evacuation", {"trigger": trigger, "started_the_run": started_it})
    return cancels
