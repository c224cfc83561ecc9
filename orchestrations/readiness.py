"""The scheduled readiness check of one plan (instance `readiness-{plan}`, started every 30 minutes by
the Azure host's timer): run `readiness_check`, and publish `Contoso.Failover.ReadinessChanged` when the
overall status or a check's status differs from the previous result (passed in by the timer)."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from failover.contracts.notify import PublishEventInput
from failover.contracts.readiness import ReadinessInput, ReadinessResult, ReadinessRunInput, ReadinessRunResult
from orchestrations.common import ARM_RETRY, NOTIFY_RETRY, as_utc, isoformat


def _statuses(result: dict[str, Any] | None) -> dict[str, str]:
    if not result:
        return {}
    return {"overall": result.get("status", ""), **{c["name"]: c["status"] for c in result.get("checks", [])}}


def readiness_orchestrator(context: df.DurableOrchestrationContext):
    """Input: `ReadinessRunInput`. Output: the readiness document (`ReadinessRunResult`, as JSON: the timer
    hands it back as `previous`, and df 1.7's executor json.dumps an orchestration's output without the
    custom-object hook)."""
    spec = context.get_input()
    if not isinstance(spec, ReadinessRunInput):  # a history started before the contract: {plan, previous} JSON
        spec = ReadinessRunInput.model_validate(spec)
    report: ReadinessResult = yield context.call_activity_with_retry(
        "readiness_check",
        ARM_RETRY,
        ReadinessInput(instance_id=context.instance_id, plan=spec.plan),
    )
    result: dict[str, Any] = report.plain()
    before, after = _statuses(spec.previous), _statuses(result)
    if before != after:
        name = spec.plan.name
        changed = sorted(k for k in after.keys() | before.keys() if before.get(k) != after.get(k))
        try:
            yield context.call_activity_with_retry(
                "publish_event",
                NOTIFY_RETRY,
                PublishEventInput(
                    instance_id=context.instance_id,
                    plan=name,
                    id=f"{context.instance_id}:{isoformat(as_utc(context.current_utc_datetime))}",
                    type="Contoso.Failover.ReadinessChanged",
                    source=f"/failover/plans/{name}/readiness",
                    subject="readiness",
                    time=isoformat(as_utc(context.current_utc_datetime)),
                    data={"plan": name, "status": result["status"], "changed": changed, "checks": result["checks"]},
                ),
            )
            result = {**result, "published": True}
        except Exception:  # a status event never fails the check
            result = {**result, "published": False}
    return ReadinessRunResult.model_validate(result).plain()


bp = df.Blueprint()
bp.orchestration_trigger(context_name="context")(readiness_orchestrator)
