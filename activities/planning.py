"""Read-only ASR reads that previews and readiness checks share (not durable activities themselves:
the HTTP handlers and the CLI call them directly, in a worker thread)."""

from __future__ import annotations

from failover.batching import BatchPlanningError, RecoveryPlanRef
from failover.plan import Plan


def read_groups(plan: Plan) -> list[tuple[str, list[RecoveryPlanRef]]]:
    """Each group's recovery plans with their VM counts, resolved against the vault (names and globs)."""
    from activities.asr import asr_resolve_recovery_plans

    resolved = asr_resolve_recovery_plans(
        {
            "plan": plan.name,
            "subscription_id": plan.asr.subscription_id or plan.subscription_id,
            "resource_group": plan.asr.resource_group,
            "vault": plan.asr.vault,
            "groups": [{"name": g.name, "recovery_plans": g.recovery_plans} for g in plan.groups],
        }
    )
    if resolved["unmatched"]:
        missing = ", ".join(f"{u['group']}: {u['pattern']}" for u in resolved["unmatched"])
        raise BatchPlanningError(f"recovery plans not found in vault {plan.asr.vault}: {missing}")
    return [
        (g["name"], [RecoveryPlanRef(p["name"], p["vms"]) for p in g["recovery_plans"]]) for g in resolved["groups"]
    ]
