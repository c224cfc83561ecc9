"""An evacuation: every plan whose primary is one region, as one run (`orchestrations.evacuation`). Pure parts,
unit tested: which plans a region's outage hits, the order they fail over in (a plan's `tier`, 0 first, then
the plans it names in `after`), which can start now, and the in-flight cap each gets of the shared one."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from typing import Any

from failover.batching import largest_recovery_plan
from failover.errors import PlanError
from failover.evacuation_capacity import compact
from failover.plan import Plan
from failover.plan.fields import normalize_region

DEFAULT_CAP = 100  # VMs failing over at once across all the evacuation's plans (the guidance's "100 at a time")


def plans_in(region: str, plans: Iterable[Plan]) -> list[Plan]:
    """The plans whose primary region is `region` ("West Europe" and "westeurope" alike), by tier then name."""
    wanted = normalize_region(region)
    return sorted((p for p in plans if p.primary_region == wanted), key=lambda p: (p.tier, p.name))


def check_order(plans: list[Plan]) -> None:
    """Refuse `after` names outside the evacuation, a plan after one of a later tier, and cycles (PlanError,
    each message naming the plan and field)."""
    by_name = {p.name: p for p in plans}
    errors = []
    for plan in plans:
        for other in plan.after:
            if other == plan.name:
                errors.append(f"{plan.name}: after: names the plan itself")
            elif other not in by_name:
                errors.append(f"{plan.name}: after: '{other}' is not a plan of this evacuation (same primary region)")
            elif by_name[other].tier > plan.tier:
                errors.append(
                    f"{plan.name}: after: '{other}' is in tier {by_name[other].tier}, after this plan's tier "
                    f"{plan.tier}"
                )
    if errors:
        raise PlanError(errors)
    order = failover_order(plans)
    if len(order) < len(plans):
        stuck = sorted(set(by_name) - set(order))
        raise PlanError(
            [f"{name}: after: the plans {', '.join(stuck)} wait for each other (a cycle)" for name in stuck]
        )


def failover_order(plans: list[Plan]) -> list[str]:
    """Tier by tier (0 first); within a tier, a plan after those it names (then by name)."""
    done: list[str] = []
    left = sorted(plans, key=lambda p: (p.tier, p.name))
    while left:
        ready = next((p for p in left if all(a in done for a in p.after) and p.tier == left[0].tier), None)
        if ready is None:
            ready = next((p for p in left if all(a in done for a in p.after)), None)
        if ready is None:
            return done  # a cycle: check_order names it
        done.append(ready.name)
        left.remove(ready)
    return done


def startable(
    plans: list[Plan], started: set[str], succeeded: set[str], ended: set[str]
) -> tuple[list[str], list[str]]:
    """(the plans that may start now, the plans that never will). A plan starts when every plan of a lower tier
    has ended and the plans it names in `after` succeeded; a plan after one that did not succeed is blocked."""
    waiting = [p for p in plans if p.name not in started]
    blocked = [p.name for p in waiting if any(a in ended and a not in succeeded for a in p.after)]
    open_tiers = [p.tier for p in plans if p.name not in ended and p.name not in blocked]
    lowest = min(open_tiers) if open_tiers else None
    ready = [
        p.name for p in waiting if p.name not in blocked and p.tier == lowest and all(a in succeeded for a in p.after)
    ]
    return ready, blocked


def cap_share(cap: int, running: int) -> int:
    """Each of `running` plans started together gets an equal share of the evacuation's in-flight cap (at least
    1 VM; a batch larger than its share then runs alone in its plan)."""
    return max(1, cap // max(1, running))


def cap_keys(plan: Plan) -> tuple[str, str]:
    """What the in-flight cap is counted against: the plan's Recovery Services vault and its recovery region."""
    asr = plan.asr
    return _cap_keys(asr.subscription_id or plan.subscription_id, asr.resource_group, asr.vault, plan.recovery_region)


@functools.lru_cache(maxsize=4096)
def _cap_keys(subscription_id: str, resource_group: str, vault: str, region: str) -> tuple[str, str]:
    """Built once per vault and region: an evacuation of 100 plans asks for them 20,000 times over its replays."""
    return f"vault {'/'.join((subscription_id, resource_group, vault)).lower()}", f"recovery region {region}"


def largest_units(groups: dict[str, Any]) -> dict[str, int]:
    """Each plan's largest recovery plan in VMs (`groups`: plan -> its groups of RecoveryPlanRef, or None when
    unread): the least share of the cap it can run with (ASR fails a recovery plan over as one job)."""
    return {name: largest_recovery_plan(plan_groups) or 1 for name, plan_groups in groups.items() if plan_groups}


def plan_vms(groups: dict[str, Any]) -> dict[str, int]:
    """Each plan's VMs (`groups` as for `largest_units`): the most of the cap it can use."""
    return {
        name: sum(ref.vms for _, refs in plan_groups for ref in refs)
        for name, plan_groups in groups.items()
        if plan_groups
    }


def cap_shares(
    cap: int,
    ready: list[Plan],
    running: dict[str, tuple[Plan, int]],
    units: dict[str, int] | None = None,
    vms: dict[str, int] | None = None,
) -> dict[str, int]:
    """The in-flight share each plan of `ready` starts with, the cap holding per vault and per recovery region:
    the shares of the plans still running (`running`: name -> (plan, share)) and of those starting never add up to
    more than `cap` for any vault or recovery region. In failover order each plan takes what it can use of the
    room left: its VMs (`vms`), at most its `batch_size` (the plan's own cap). Its share is never below its largest
    recovery plan (`units`: ASR fails one over as one job, so a smaller share would be exceeded): a plan without
    room for that is not in the answer and waits for a running plan to end. A recovery plan larger than the cap
    itself starts only when nothing else of its vault and region runs, with the whole cap."""
    held: dict[str, int] = {}
    for plan, share in running.values():
        for key in cap_keys(plan):
            held[key] = held.get(key, 0) + share
    shares: dict[str, int] = {}
    for plan in ready:
        keys = cap_keys(plan)
        room = min(cap - held.get(key, 0) for key in keys)
        need = min(cap, max(1, (units or {}).get(plan.name, 1)))
        if room < need:
            continue
        use = min(plan.batch_size, (vms or {}).get(plan.name, plan.batch_size))
        shares[plan.name] = share = min(room, max(need, use))
        for key in keys:
            held[key] = held.get(key, 0) + share
    return shares


# Durable Functions caps a custom status at 16 KB of UTF-16 JSON text ("The custom status payload is limited to 16 KB
# of UTF-16 JSON text", https://learn.microsoft.com/azure/durable-task/common/durable-task-custom-orchestration-status):
# about 8,000 characters. An evacuation of 100 plans cannot list a full row per plan in it, so its status lists the rows
# that matter now (running, failed, then those next in line) while they fit `STATUS_BUDGET`, and counts every plan by
# status; each plan's details are in its own run (`run_id`: GET /api/failovers/{run_id}) and every row is in the
# evacuation's summary once it has ended.
STATUS_BUDGET = 15 * 1024  # UTF-16 bytes: room under the 16 KB cap for the engine's own wrapping
STATUS_ERRORS = 5
STATUS_EXCLUDED = 10
_ROW_RANK = {"Running": 0, "Failed": 1, "Blocked": 1, "CompletedWithErrors": 1, "Pending": 2, "NotStarted": 3}
_ROW_KEYS = ("plan", "tier", "after", "status", "run_id", "vms", "in_flight_cap", "eta_seconds", "note")


def _utf16_bytes(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-16-le"))


def evacuation_status(state: dict[str, Any]) -> dict[str, Any]:
    """The evacuation's custom status from its state, within `STATUS_BUDGET`: compact plan rows (no null fields, no
    error text: `errors` has the latest) ranked running, failed, pending, then done, as many as fit, shown in failover
    order; `plans_total` and `plan_counts` by status; the approval gate without `excludable` (every plan of the
    evacuation may be left out: the API checks a name against the region's plans); the first exclusions and the
    latest errors, with their totals; the recovery capacity check in its compact form (`evacuation_capacity.compact`)
    and the first warnings."""
    rows: list[dict[str, Any]] = state["plans"]
    order = {name: i for i, name in enumerate(state.get("order") or [])}
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    errors, excluded = state.get("errors") or [], state.get("excluded") or []
    warnings = state.get("warnings") or []
    hidden = ("plans", "order", "approval", "errors", "excluded", "capacity", "warnings")
    status = {
        **{k: v for k, v in state.items() if k not in hidden},
        "capacity": compact(state.get("capacity")),  # the short regions first, a few
        "plans": [],
        "plans_total": len(rows),
        "plan_counts": counts,
        "approval": {k: v for k, v in state["approval"].items() if k != "excludable"},
        "excluded": excluded[:STATUS_EXCLUDED],
        "excluded_total": len(excluded),
        "errors": [str(e)[:200] for e in errors[-STATUS_ERRORS:]],  # the latest; the summary keeps them all
        "errors_total": len(errors),
        "warnings": [str(w)[:300] for w in warnings[:STATUS_ERRORS]],
    }
    size = _utf16_bytes(status)
    chosen: list[tuple[int, dict[str, Any]]] = []
    ranked = sorted(
        range(len(rows)), key=lambda i: (_ROW_RANK.get(rows[i]["status"], 4), order.get(rows[i]["plan"], i))
    )
    for i in ranked:
        row = {k: rows[i][k] for k in _ROW_KEYS if rows[i].get(k) is not None} | {"after": rows[i]["after"]}
        cost = _utf16_bytes(row) + 2  # and its comma
        if size + cost > STATUS_BUDGET:
            break
        size += cost
        chosen.append((order.get(rows[i]["plan"], i), row))
    status["plans"] = [row for _, row in sorted(chosen, key=lambda c: c[0])]
    return status
