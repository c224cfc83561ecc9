"""The plan's claim from inside a run (one active run per plan; `failover.claims` says why it cannot race), and the
`plan_claim` entity as Durable Functions registers it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from failover import claims
from failover.contracts.run import RunInput
from orchestrations.run_state import Run


def entity_id(plan: str) -> df.EntityId:
    return df.EntityId(claims.ENTITY, plan)


def take(run: Run, spec: RunInput):
    """Ask for the plan's claim. A run superseding a drill waits (control channel open) until the drill, cancelled
    and cleaned up, releases it, up to the plan's ASR job timeout. Returns the entity's last answer."""
    context = run.context
    request: dict[str, Any] = {
        "run_id": context.instance_id,
        "mode": run.mode,
        "at": run.started_at,
        "supersedes": spec.supersedes,
        "stale": list(spec.stale_claims),
    }
    answer = yield context.call_entity(entity_id(run.plan.name), "claim", request)
    deadline = run.at(run.plan.asr.job_timeout)
    while not answer.get("granted") and answer.get("next") == context.instance_id and not run.cancel:
        if run.now() >= deadline:
            break
        run.claim = {"waiting_for": spec.supersedes, **answer}
        run.publish_status(f"waiting for drill {spec.supersedes} to be cancelled and cleaned up")
        poll = max(run.seconds(run.plan.asr.job_poll_interval), 0.5)
        yield from run.sleep_until(run.now() + timedelta(seconds=poll), interruptible=True)
        answer = yield context.call_entity(entity_id(run.plan.name), "claim", {**request, "stale": []})
    run.claim = {"granted": bool(answer.get("granted")), "holder": answer.get("holder")}
    run.publish_status()
    return answer


def release(run: Run) -> None:
    """Give the claim back (fire and forget: the entity applies it after this episode)."""
    run.context.signal_entity(
        entity_id(run.plan.name), "release", {"run_id": run.context.instance_id, "at": run.started_at}
    )


def plan_claim(context: df.DurableEntityContext) -> None:
    """The `plan_claim` entity on Durable Functions: `failover.claims.apply` over the entity's state."""
    state, result = claims.apply(context.get_state(claims.empty), context.operation_name or "", context.get_input())
    context.set_state(state)
    context.set_result(result)


bp = df.Blueprint()
bp.entity_trigger(context_name="context", entity_name=claims.ENTITY)(plan_claim)
