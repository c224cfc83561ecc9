"""Batch planning: recovery plans → ordered batches of at most `batch_size` VMs. Pure, unit tested.

Groups run in plan order and never overlap. Inside a group, recovery plans are bin-packed
first-fit-decreasing (largest first, ties by name) so a group needs as few batches as possible.
Batches start `batch_interval` apart (ASR guidance: at most 100 VMs at a time, 10 minutes apart).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from failover.contracts.asr import ResolveRecoveryPlansResult


class BatchPlanningError(ValueError):
    pass


@dataclass(frozen=True)
class RecoveryPlanRef:
    name: str
    vms: int


@dataclass(frozen=True)
class Batch:
    group: str
    index: int  # 1-based across the whole run
    recovery_plans: tuple[RecoveryPlanRef, ...]

    @property
    def vms(self) -> int:
        return sum(p.vms for p in self.recovery_plans)

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "index": self.index,
            "recovery_plans": [{"name": p.name, "vms": p.vms} for p in self.recovery_plans],
            "vms": self.vms,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Batch:
        return cls(
            group=data["group"],
            index=int(data["index"]),
            recovery_plans=tuple(RecoveryPlanRef(p["name"], int(p["vms"])) for p in data["recovery_plans"]),
        )


def plan_batches(groups: list[tuple[str, list[RecoveryPlanRef]]], batch_size: int) -> list[Batch]:
    """Pack each group's recovery plans into batches of at most `batch_size` VMs, groups in order."""
    if batch_size < 1:
        raise BatchPlanningError("batch_size must be at least 1")
    batches: list[Batch] = []
    for group, plans in groups:
        too_big = [p for p in plans if p.vms > batch_size]
        if too_big:
            names = ", ".join(f"{p.name} ({p.vms} VMs)" for p in too_big)
            raise BatchPlanningError(
                f"group '{group}': recovery plan(s) {names} exceed batch_size {batch_size}; split the plan in ASR"
            )
        bins: list[list[RecoveryPlanRef]] = []
        loads: list[int] = []  # each bin's VMs: the orchestrator replays this every episode, keep it O(plans x bins)
        for plan in sorted(plans, key=lambda p: (-p.vms, p.name)):
            room = batch_size - plan.vms
            target = next((n for n, load in enumerate(loads) if load <= room), None)
            if target is None:
                bins.append([plan])
                loads.append(plan.vms)
            else:
                bins[target].append(plan)
                loads[target] += plan.vms
        for members in bins:
            batches.append(Batch(group=group, index=len(batches) + 1, recovery_plans=tuple(members)))
    return batches


def peak_in_flight(batches: list[dict[str, Any]]) -> int:
    """The most VMs in batches running at the same moment, from each batch's `started_at`, `finished_at`
    (ISO 8601, same format, so they sort as text) and `vms`; a batch that ends as another starts is not counted
    twice. A batch without `finished_at` is still running."""
    moments: list[tuple[str, int, int]] = []
    for batch in batches:
        moments.append((str(batch["started_at"]), 1, int(batch["vms"])))
        if batch.get("finished_at"):
            moments.append((str(batch["finished_at"]), 0, -int(batch["vms"])))
    peak = current = 0
    for _, _, delta in sorted(moments):
        current += delta
        peak = max(peak, current)
    return peak


def schedule_offsets(batches: list[Batch], batch_interval: float) -> list[float]:
    """Earliest start of each batch, in seconds from the first, if every group finished in time."""
    return [i * batch_interval for i in range(len(batches))]


def groups_from_resolved(
    resolved: ResolveRecoveryPlansResult | dict[str, Any], vault: str
) -> list[tuple[str, list[RecoveryPlanRef]]]:
    """`asr_resolve_recovery_plans`' answer (the model or its `.plain()`) → each group's recovery plans; a name
    or pattern that matched nothing in the vault is a BatchPlanningError (nothing is touched)."""
    if isinstance(resolved, ResolveRecoveryPlansResult):
        resolved = resolved.plain()
    if resolved["unmatched"]:
        missing = ", ".join(f"{u['group']}: {u['pattern']}" for u in resolved["unmatched"])
        raise BatchPlanningError(f"recovery plans not found in vault {vault}: {missing}")
    return [
        (g["name"], [RecoveryPlanRef(p["name"], p["vms"]) for p in g["recovery_plans"]]) for g in resolved["groups"]
    ]


def batch_limit(groups: list[tuple[str, list[RecoveryPlanRef]]], batch_size: int, in_flight_cap: int) -> int:
    """The size a run packs its batches to: its in-flight cap (an evacuation's share may be below batch_size, and
    a batch is started whole, so the cap holds only if no batch is larger), but never below its largest recovery
    plan (ASR fails one over as one job: a recovery plan larger than the share runs alone), and at most batch_size
    (a recovery plan larger than that is the plan's own error, `plan_batches` says so)."""
    return min(batch_size, max(in_flight_cap, largest_recovery_plan(groups)))


def largest_recovery_plan(groups: list[tuple[str, list[RecoveryPlanRef]]]) -> int:
    """The VMs of the plan's largest recovery plan (0 without any): ASR fails it over as one job."""
    return max((ref.vms for _, refs in groups for ref in refs), default=0)
