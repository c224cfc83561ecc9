"""Read-only ASR reads that previews and readiness checks share (not durable activities themselves:
the HTTP handlers and the CLI call them directly, in a worker thread)."""

from __future__ import annotations

from typing import Any

from failover.batching import RecoveryPlanRef, groups_from_resolved
from failover.plan import Plan


def read_groups(plan: Plan) -> list[tuple[str, list[RecoveryPlanRef]]]:
    """Each group's recovery plans with their VM counts, resolved against the vault (names and globs)."""
    from activities.asr import asr_resolve_recovery_plans

    return groups_from_resolved(asr_resolve_recovery_plans(plan.resolve_request()), plan.asr.vault)


def read_recovery_points(plan: Plan) -> list[tuple[str, float | None]]:
    """Each protected item of the plan's recovery plans with its current recovery point age (ASR's RPO), by name."""
    from activities.asr_health import recovery_point_ages
    from failover.contracts.asr import ReplicationHealthInput

    names = [ref.name for _, refs in read_groups(plan) for ref in refs]
    return recovery_point_ages(ReplicationHealthInput(plan=plan.name, **plan.vault_ref(), recovery_plans=names))


def read_capacity(plan: Plan, recovery_plans: list[str]) -> dict[str, Any]:
    """The recovery region's capacity for these recovery plans (`capacity_check`, as JSON)."""
    from activities.capacity import capacity_check
    from failover.contracts.capacity import CapacityInput, session_host_needs

    payload = CapacityInput(
        plan=plan.name,
        **plan.vault_ref(),
        recovery_plans=recovery_plans,
        recovery_region=plan.recovery_region,
        session_hosts=session_host_needs(plan),
    )
    return capacity_check(payload).plain()


def read_region_capacity(request: dict[str, Any]) -> dict[str, Any]:
    """An evacuation's plans coming up in one region, checked together (`capacity_check_region`, as JSON):
    `request` is one of `failover.evacuation_capacity.regions`."""
    from activities.capacity import capacity_check_region
    from failover.contracts.capacity import RegionCapacityInput

    return capacity_check_region(RegionCapacityInput(plan="evacuation", **request)).plain()
