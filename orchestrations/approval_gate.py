"""The approval gate: the Teams card with signed approve/reject links, a quorum of distinct approvers, the
timeout policy (reject, proceed or escalate once), and the control channel open throughout (a cancel, or
the Resolved notice of the incident that started the run, ends the wait)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from failover.batching import Batch, RecoveryPlanRef
from failover.contracts.asr import ReplicationHealthInput
from failover.contracts.avd import HostPoolInput
from failover.contracts.notify import ApprovalCardInput, ApprovalDecision, TeamsDecisionInput
from failover.preview import data_loss, preview
from orchestrations.common import NOTIFY_RETRY, isoformat
from orchestrations.control import INTERRUPTED
from orchestrations.run_state import Run

APPROVAL_EVENT = "approval"


def _count_sessions(run: Run):
    """The sessions each host pool holds now: what approving a failover signs out (a drill signs nobody out)."""
    if run.mode not in ("planned", "unplanned"):
        return []
    counted: list[dict[str, Any]] = []
    for pool in run.plan.avd.host_pools:
        try:
            found = yield from run.call("avd_count_sessions", HostPoolInput(**run.ids, **run.plan.host_pool_ref(pool)))
            counted.append({"host_pool": found.host_pool, "sessions": found.sessions})
        except Exception as err:  # the card goes out without the count; approvers see why
            counted.append({"host_pool": pool.name, "error": str(err)[:200]})
    return counted


def _card(
    run: Run,
    batches: list[Batch],
    expires: datetime,
    nonce: str,
    readiness: dict[str, Any],
    host_pools: list[dict[str, Any]],
) -> ApprovalCardInput:
    plan, policy = run.plan, run.policy
    # the preview's own estimate (plan time), the figure `failover plan preview` gives: one estimate everywhere
    groups: dict[str, list[RecoveryPlanRef]] = {}
    for batch in batches:
        groups.setdefault(batch.group, []).extend(batch.recovery_plans)
    expected = preview(plan, list(groups.items()), mode=run.mode)["eta_seconds"]
    reason = run.reason
    preflight = run.preflight or {}
    if preflight.get("status") in ("warn", "fail"):  # approvers see what is not ready before they decide
        lines = "; ".join(
            f"{c['name']} {c['status']}: {c['message']}" for c in preflight["checks"] if c["status"] != "pass"
        )
        reason = f"{reason + ' — ' if reason else ''}NOT READY: {lines}"
    if run.warnings:  # e.g. the incident names the recovery region too
        reason = f"{reason + ' — ' if reason else ''}WARNING: {'; '.join(run.warnings)}"
    return ApprovalCardInput(
        **run.ids,
        mode=run.mode,
        trigger=run.triggers[0] if run.triggers else None,
        requested_by=run.requested_by,
        requested_by_claim=run.requested_by_claim,
        reason=reason,
        preflight=run.preflight,
        primary_region=plan.primary_region,
        recovery_region=plan.recovery_region,
        vms=sum(b.vms for b in batches),
        recovery_plans=sum(len(b.recovery_plans) for b in batches),
        batches=len(batches),
        sessions=sum(p["sessions"] for p in host_pools)
        if host_pools and all("sessions" in p for p in host_pools)
        else None,
        host_pools=host_pools,
        data_loss=data_loss(plan) if run.mode in ("planned", "unplanned") else [],
        expected_seconds=expected,  # the card speaks in plan (real) time
        expires_at=isoformat(expires),
        approvers=policy.approvers,
        required=policy.required,
        nonce=nonce,
        readiness=readiness,
        excludable=run.approval.get("excludable") or [],
        capacity=run.capacity,
    )


def _decision_outcome(outcome: str, decisions: list[dict[str, Any]], cancel: dict[str, Any] | None) -> str:
    deciders = ", ".join(d["approver"] for d in decisions if d.get("approver") and d["decision"] == outcome)
    return {
        "approve": f"approved by {deciders or 'timeout policy (proceed)'}; failover starting",
        "reject": f"rejected by {deciders}; nothing was changed" if deciders else "timed out; nothing was changed",
        "cancelled": f"cancelled by {(cancel or {}).get('by')} ({(cancel or {}).get('reason') or 'no reason given'}); "
        "nothing was changed",
    }[outcome]


def record_decision(
    gate: dict[str, Any],
    decision: dict[str, Any],
    nonce: str,
    allowed: set[str],
    requester: str,
    allow_requester: bool,
    at: str,
) -> str | None:
    """Accept one `approval` event into the gate (`used`, `decisions`): returns its approver, or None when it is
    not one to count - not an approver, a link already used or of another gate, no decision, or the requester
    (unless the policy allows). The HTTP handler refuses these first; this is the run's own record (single use)."""
    approver = str(decision.get("approver") or "").lower()
    key = f"{decision.get('nonce')}:{approver}"
    if (
        approver not in allowed
        or key in gate["used"]
        or decision.get("nonce") != nonce
        or decision.get("decision") not in ("approve", "reject")
        or (approver == requester and not allow_requester)
    ):
        return None
    gate["used"][key] = str(decision.get("request_id") or "")
    gate["decisions"].append(
        {"approver": approver, "decision": decision["decision"], "at": at, "comment": decision.get("comment")}
    )
    return approver


def approval_gate(run: Run, batches: list[Batch]):
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
        readiness = yield from run.call(
            "asr_replication_health",
            ReplicationHealthInput(
                **run.ids,
                **run.plan.vault_ref(),
                recovery_plans=[p.name for b in batches for p in b.recovery_plans],
                direction="PrimaryToRecovery",
            ),
        )
        card_readiness = {**readiness.plain(), "rpo_target_seconds": run.plan.rpo_target}
    except Exception as err:  # the card goes out without it; approvers see why
        card_readiness = {"error": str(err)[:300]}
    run.approval["readiness"] = {k: v for k, v in card_readiness.items() if k != "unhealthy"}
    host_pools = yield from _count_sessions(run)
    run.approval["sessions"] = host_pools
    card = _card(run, batches, expires, nonce, card_readiness, host_pools)
    run.publish_status()
    try:
        yield from run.step(context.call_activity_with_retry("teams_post_approval_card", NOTIFY_RETRY, card))
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
    excludable = {e["recovery_plan"] for e in run.approval.get("excludable") or []}
    exclusions: dict[str, tuple[str, str]] = {}  # recovery plan -> (approver, at): an "approve without"
    outcome: str | None = None
    timer = context.create_timer(expires)
    decision_task = None
    winner = None
    while outcome is None:
        if run.cancel:  # accepted while the card was being posted, or just now
            outcome = "cancelled"
            break
        if decision_task is None:
            decision_task = context.wait_for_external_event(APPROVAL_EVENT)
        winner = yield from run.wait_any([decision_task, timer])
        if winner is INTERRUPTED:
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
                    yield from run.step(
                        context.call_activity_with_retry(
                            "teams_post_reminder",
                            NOTIFY_RETRY,
                            card.model_copy(update={"expires_at": isoformat(expires)}),
                        )
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
        approver = record_decision(
            run.approval, decision, nonce, allowed, requester, policy.allow_requester, isoformat(run.now())
        )
        if approver is None:
            continue  # the HTTP handler refuses these; an event raised some other way is ignored
        if decision["decision"] == "reject":
            outcome = "reject"
        else:
            approved_by.add(approver)
            for name in decision.get("exclude") or []:
                if name in excludable:  # the HTTP handler refuses others
                    exclusions.setdefault(name, (approver, isoformat(run.now())))
            if len(approved_by) >= policy.required:
                outcome = "approve"
        run.publish_status()
    if winner is not timer:
        timer.cancel()  # decided before the deadline: the pending timer must not keep the run alive
    run.approval["waiting"] = False
    if outcome == "approve":
        _exclude(run, exclusions)
    run.end("approval", {"approve": "Succeeded", "reject": "Rejected", "cancelled": "Cancelled"}[outcome])
    run.publish_status()
    try:
        yield from run.step(
            context.call_activity_with_retry(
                "teams_post_decision",
                NOTIFY_RETRY,
                TeamsDecisionInput(
                    **run.ids,
                    outcome=_decision_outcome(outcome, run.approval["decisions"], run.cancel),
                    decisions=[ApprovalDecision.model_validate(d) for d in run.approval["decisions"]],
                ),
            )
        )
    except Exception as err:
        run.errors.append(f"decision message not delivered to Teams: {err}")
    yield from run.events.publish(
        "ApprovalDecided", "approval", {"outcome": outcome, "decisions": run.approval["decisions"]}
    )
    return outcome


def _exclude(run: Run, exclusions: dict[str, tuple[str, str]]) -> None:
    """Approved without some recovery plans: they are left out of the run (not failed over, not cleaned up),
    recorded as skipped by the approver who excluded them; the run ends CompletedWithErrors and says so."""
    for name, (by, at) in sorted(exclusions.items()):
        run.excluded.append(name)
        run.skipped.append({"name": name, "by": by, "at": at})
        run.operator_actions.append({"action": "exclude", "recovery_plan": name, "by": by, "at": at})
        run.plan_errors[name] = f"recovery plan {name}: excluded at approval by {by}; not failed over"
