"""The evacuation of a region: every plan whose primary is that region, as one run (`POST /api/evacuations`,
`failover evacuate REGION`).

Stages: read each plan's recovery plans (VMs, batches, the preview's estimate) → recovery capacity, every plan's
needs summed per (subscription, recovery region) (`capacity.evacuation_check`: a shortfall where any plan of the
region has `capacity: block` refuses the evacuation here, before anything changes; each plan's run records this
check instead of reading again) → one approval card for the whole
evacuation (the approvers of every plan; the most approvals any plan asks for; `exclude` in an API approval
leaves plans out) → each plan a child run (`failover_orchestrator`, instance `{evacuation}:{plan}`: its own
status, report and control), tier by tier (0 first) and after the plans it names in `after`, each with its share
of one in-flight cap (`in_flight_cap`, default 100 VMs) → a summary with each plan's row. A plan whose run does
not complete stops only the plans after it; a cancel starts no further plan (the plans' runs already started are
cancelled on their own: `failover cancel {evacuation}:{plan}`).

Deterministic: no I/O, no wall clock; the custom status always says where it is, with an `approval` block the
approval routes read as they read a run's. The approval gate (the card, the decisions, a cancel or the incident's
Resolved notice while it waits) is `orchestrations.evacuation_gate`'s.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from failover.batching import groups_from_resolved
from failover.contracts.run import EvacuationInput, RunInput
from failover.evacuation import (
    cap_shares,
    evacuation_status,
    failover_order,
    largest_units,
    plan_vms,
    startable,
)
from failover.evacuation_capacity import for_plan
from failover.evacuation_preview import evacuation_preview
from failover.plan import Plan
from orchestrations import capacity
from orchestrations.common import ARM_RETRY, EventLog, as_utc, isoformat
from orchestrations.evacuation_gate import CONTROL_EVENT, approval, on_resolved

PREDICTED = ("vms", "recovery_plans", "batches", "eta_seconds", "start_s", "end_s")  # a plan's row, from the preview


def evacuation_orchestrator(context: df.DurableOrchestrationContext):
    """Input: `EvacuationInput`. Output: the evacuation's summary (JSON)."""
    spec = context.get_input()
    if not isinstance(spec, EvacuationInput):
        spec = EvacuationInput.model_validate(spec)
    plans = [p for p in spec.plans if p.name not in spec.exclude]
    scale = spec.time_scale

    def now() -> Any:
        return as_utc(context.current_utc_datetime)

    approvers = sorted({a.lower() for p in plans for a in p.approval.for_mode("unplanned").approvers})
    required = max((p.approval.for_mode("unplanned").required for p in plans), default=0)
    timeout = min((p.approval.for_mode("unplanned").timeout for p in plans), default=1800.0)
    state: dict[str, Any] = {
        "kind": "evacuation",
        "region": spec.region,
        "stage": "reading recovery plans",
        "requested_by": spec.requested_by,
        "reason": spec.reason,
        "started_at": isoformat(now()),
        "in_flight_cap": spec.in_flight_cap,
        "order": failover_order(plans),
        "plans": [
            {
                "plan": p.name,
                "tier": p.tier,
                "after": list(p.after),
                "status": "Pending",
                "run_id": None,
                "vms": None,
                "in_flight_cap": None,
                "eta_seconds": None,
            }
            for p in plans
        ],
        "excluded": [{"plan": name, "by": spec.requested_by, "when": "started"} for name in spec.exclude],
        "approval": {
            "required": required,
            "approvers": approvers,
            "on_timeout": "abort",
            "allow_requester": False,
            "requested_by": spec.requested_by,
            "waiting": False,
            "escalated": False,
            "decisions": [],
            "used": {},
            "expires_at": None,
            "excludable": [
                {
                    "recovery_plan": p.name,
                    "why": f"a plan of the evacuation (tier {p.tier})",
                    "approving": "fails it over",
                }
                for p in plans
            ],
        },
        "cancel": None,
        "capacity": None,  # the recovery capacity check of every plan together (before the card)
        "warnings": [],
        "errors": [],
    }
    rows = {row["plan"]: row for row in state["plans"]}

    def publish(stage: str | None = None) -> None:
        if stage:
            state["stage"] = stage
        if context.is_replaying and getattr(context, "drops_replayed_status", False):
            return  # the local engine keeps the status an earlier episode set: 100 plans' rows, rebuilt at every
            # plan's end on every replay, held each next plan's start about 0.1 s
        context.set_custom_status(evacuation_status(state))  # bounded: Durable Functions' 16 KB

    publish()
    # CloudEvents at every step, as a run's (source /failover/plans/evacuation-{region}/runs/{id})
    events = EventLog(context, f"evacuation-{spec.region}")
    yield from events.publish(
        "EvacuationStarted",
        "evacuation",
        {"region": spec.region, "plans": [r["plan"] for r in state["plans"]], "requested_by": spec.requested_by},
    )

    # 1. what each plan moves: its recovery plans (VMs, batches), and the evacuation's preview (the dry run's)
    # read all at once (100 plans one after another held the card for as many round trips); if a read fails, one by
    # one, so only that plan's row says why
    def resolve(plan: Any) -> Any:
        return context.call_activity_with_retry(
            "asr_resolve_recovery_plans", ARM_RETRY, plan.resolve_request(context.instance_id)
        )

    groups: dict[str, Any] = {}
    try:
        answers = yield context.task_all([resolve(plan) for plan in plans])
    except Exception:  # durabletask raises TaskFailedError, df a plain Exception
        answers = None
    for i, plan in enumerate(plans):
        try:
            resolved = answers[i] if answers is not None else (yield resolve(plan))
            groups[plan.name] = groups_from_resolved(resolved, plan.asr.vault)
        except Exception as err:  # on the card; the plan's own run reads it again and reports
            groups[plan.name] = None
            rows[plan.name]["error"] = str(err)[:300]
    units, sizes = largest_units(groups), plan_vms(groups)  # what each plan needs and can use of the cap
    predicted = evacuation_preview(plans, groups, spec.in_flight_cap, time_scale=scale)
    for row in predicted["plans"]:
        rows[row["plan"]].update({k: row[k] for k in PREDICTED if k in row})
    state["eta_seconds"] = predicted["eta_seconds"]
    # recovery capacity: every plan's needs summed per recovery region; `block` refuses the whole evacuation here
    publish("checking recovery capacity")
    check = state["capacity"] = yield from capacity.evacuation_check(context, plans, groups)
    state["errors"].extend(check["errors"])
    state["warnings"] = check["warnings"]
    if check["refused"]:
        for row in state["plans"]:
            row.update(status="NotStarted", note="refused: the recovery region's capacity is short (policy block)")
        publish("refused: capacity")
        yield from events.publish("EvacuationCompleted", "evacuation", {"status": "Failed", "plans": state["plans"]})
        return _summary(context, state, "Failed", now)

    # 2. one approval for the whole evacuation (the control channel open: a cancel ends the wait)
    channel = {"control": context.wait_for_external_event(CONTROL_EVENT)}
    outcome = "approve"
    if required > 0:
        outcome = yield from approval(context, spec, plans, state, events, publish, timeout / scale, now, channel)
    yield from events.publish(
        "ApprovalDecided", "approval", {"outcome": outcome, "decisions": state["approval"]["decisions"]}
    )
    if outcome != "approve":
        status = "Rejected" if outcome == "reject" else "Cancelled"
        publish(status.lower())
        yield from events.publish("EvacuationCompleted", "evacuation", {"status": status, "plans": state["plans"]})
        return _summary(context, state, status, now)
    for name in state["approval"].get("exclude_decided") or []:
        rows[name]["status"] = "Excluded"
    # 3. each plan a child run, tier by tier, after the plans it names
    decisions = state["approval"]["decisions"]
    started: set[str] = set(state["approval"].get("exclude_decided") or [])
    succeeded: set[str] = set()
    ended: set[str] = set(started)
    running: dict[str, Any] = {}  # plan -> its run's task
    held: dict[str, tuple[Plan, int]] = {}  # plan -> (plan, its share of the in-flight cap) while it runs
    # the plans' events, sent beside the next plan's start and settled after it: a plan's end starts the next
    # plan in the same episode, not one publish round trip later
    announcing: list[Any] = []
    control = channel["control"]
    by_name = {p.name: p for p in plans}
    while True:
        if state["cancel"] is None:
            ready, blocked = startable(plans, started, succeeded, ended)
            for name in blocked:
                rows[name]["status"] = "Blocked"
                rows[name]["note"] = "a plan it fails over after did not complete"
                started.add(name)
                ended.add(name)
            # the cap holds per vault and per recovery region: a plan without room waits for a running one to end
            shares = cap_shares(spec.in_flight_cap, [by_name[n] for n in ready], held, units, sizes)
            for name in ready:
                if name not in shares:
                    continue
                share = shares[name]
                run_id = f"{context.instance_id}:{name}"
                checked = for_plan(check, by_name[name], context.instance_id)  # its run does not read it again
                child = RunInput(
                    plan=by_name[name],
                    mode="unplanned",
                    triggers=[spec.trigger] if spec.trigger else [],
                    requested_by=spec.requested_by,
                    reason=f"evacuation {context.instance_id} of {spec.region}",
                    time_scale=scale,
                    preapproved={"evacuation": context.instance_id, "decisions": decisions, "capacity": checked},
                    in_flight_cap=share,
                )
                running[name] = context.call_sub_orchestrator("failover_orchestrator", child, run_id)
                held[name] = (by_name[name], share)
                rows[name].update(
                    status="Running", run_id=run_id, in_flight_cap=min(share, by_name[name].batch_size), note=None
                )
                started.add(name)
                announcing.append(
                    events.send(
                        "EvacuationPlanStarted",
                        f"plan/{name}",
                        {"plan": name, "run_id": run_id, "tier": rows[name]["tier"]},
                    )
                )
            if ready or blocked:
                for name in ready:
                    if name not in shares and rows[name]["status"] == "Pending":
                        rows[name]["note"] = "waiting for room under the in-flight cap (its vault or recovery region)"
                publish("failing over")
        for task in announcing:
            yield from events.settle(task)
        announcing.clear()
        if not running:
            break
        tasks = list(running.values())
        winner = yield context.task_any([*tasks, control])
        if winner is control:
            event = control.result or {}
            control = context.wait_for_external_event(CONTROL_EVENT)
            if event.get("action") == "resolved":  # after the approval: recorded, the plans go on
                yield from on_resolved(spec, plans, state, events, event, now)
                publish()
            if event.get("action") == "cancel" and state["cancel"] is None:
                state["cancel"] = {"by": event.get("by"), "reason": event.get("reason"), "at": isoformat(now())}
                for row in state["plans"]:
                    if row["status"] == "Pending":
                        row["status"] = "NotStarted"
                publish("cancelling: no further plan starts")
            continue
        name = next(n for n, t in running.items() if t is winner)
        del running[name]
        held.pop(name, None)
        ended.add(name)
        try:
            result = yield winner  # completed: its value, or its error, at once
            summary = result if isinstance(result, dict) else {}
            status = str(summary.get("status") or "Failed")
        except Exception as err:  # the plan's run itself failed
            summary, status = {}, "Failed"
            state["errors"].append(f"{name}: {err}")
        rows[name].update(
            status=status,
            vms_failed_over=summary.get("vms_failed_over"),
            rto_seconds=summary.get("rto_seconds"),
            peak_vms_in_flight=summary.get("peak_vms_in_flight"),
        )
        if status == "Completed":
            succeeded.add(name)
        else:
            state["errors"].extend(f"{name}: {e}" for e in (summary.get("errors") or [status])[:5])
        publish()
        announcing.append(
            events.send(
                "EvacuationPlanCompleted",
                f"plan/{name}",
                {"plan": name, "run_id": rows[name]["run_id"], "status": status},
            )
        )
    statuses = {row["status"] for row in state["plans"]}
    if state["cancel"] is not None:
        final = "Cancelled"
    elif statuses <= {"Completed"}:
        final = "Completed"
    elif "Completed" in statuses or statuses & {"CompletedWithErrors", "Excluded"}:
        final = "CompletedWithErrors"
    else:
        final = "Failed"
    publish({"Completed": "completed", "CompletedWithErrors": "completed with errors"}.get(final, final.lower()))
    yield from events.publish("EvacuationCompleted", "evacuation", {"status": final, "plans": state["plans"]})
    return _summary(context, state, final, now)


def _summary(context: Any, state: dict[str, Any], status: str, now: Any) -> dict[str, Any]:
    gate = state["approval"]
    return {
        "instance_id": context.instance_id,
        "kind": "evacuation",
        "region": state["region"],
        "status": status,
        "requested_by": state["requested_by"],
        "reason": state["reason"],
        "started_at": state["started_at"],
        "finished_at": isoformat(now()),
        "in_flight_cap": state["in_flight_cap"],
        "eta_seconds": state.get("eta_seconds"),
        "order": state["order"],
        "plans": state["plans"],
        "excluded": state["excluded"],
        "approvals": [
            {k: d.get(k) for k in ("approver", "decision", "at", "comment")} for d in gate.get("decisions") or []
        ],
        "cancel": state["cancel"],
        "resolved": state.get("resolved"),
        "capacity": state.get("capacity"),
        "warnings": state.get("warnings") or [],
        "errors": state["errors"],
    }


bp = df.Blueprint()
bp.orchestration_trigger(context_name="context")(evacuation_orchestrator)
