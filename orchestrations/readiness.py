"""The scheduled readiness check of one plan (instance `readiness-{plan}`, started every 30 minutes by
the Azure host's timer): run `readiness_check`, and publish `Contoso.Failover.ReadinessChanged` when the
overall status or a check's status differs from the previous result (passed in by the timer)."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from failover.contracts.notify import PublishEventInput
from failover.contracts.readiness import ReadinessInput, ReadinessResult
from failover.plan import Plan
from orchestrations.common import ARM_RETRY, NOTIFY_RETRY, as_utc, isoformat


def _statuses(result: dict[str, Any] | None) -> dict[str, str]:
    if not result:
        return {}
    return {"overall": result.get("status", ""), **{c["name"]: c["status"] for c in result.get("checks", [])}}


def readiness_orchestrator(context: df.DurableOrchestrationContext):
    """Input: {"plan": <plan JSON>, "previous": <last result or null>}. Output: the readiness document."""
    spec: dict[str, Any] = context.get_input()
    report: ReadinessResult = yield context.call_activity_with_retry(
        "readiness_check",
        ARM_RETRY,
        ReadinessInput(instance_id=context.instance_id, plan=Plan.model_validate(spec["plan"])),
    )
    result = report.plain()  # the orchestration's output stays the JSON document the timer hands back as `previous`
    before, after = _statuses(spec.get("previous")), _statuses(result)
    if before != after:
        name = spec["plan"]["name"]
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
    return result


bp = df.Blueprint()
bp.orchestration_trigger(context_name="context")(readiness_orchestrator)
